using System.Globalization;
using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;

namespace Hermod.Delivery.Configuration;

/// <summary>Reads routes:, delivery:, retention: and targets: into <see cref="DeliveryOptions"/>; problems go to the section's errors.</summary>
public static class DeliveryConfigBinder
{
    /// <param name="root">The whole configuration.</param>
    public static DeliveryOptions Bind(ConfigSection root)
    {
        var o = new DeliveryOptions();
        if (root.Section("routes") is { } routes)
            foreach (var (domain, node) in routes.Entries)
                BindRoute(routes, domain, node, o.Routes);
        if (root.Section("delivery") is { } delivery)
            BindDelivery(delivery, o);
        o.Retention = root.Duration("retention") ?? o.Retention;
        if (root.Section("targets") is { } targets)
            foreach (var (name, node) in targets.Entries)
                BindTarget(targets, name, node, o.Targets);
        return o;
    }

    /// <summary>routes: { "example.test": "127.0.0.1:2600", "*": { host: smarthost.test:587, tls: required, auth: { user, password } } }</summary>
    private static void BindRoute(ConfigSection routes, string domain, ConfigNode node, List<RouteOptions> list)
    {
        var route = new RouteOptions { Domain = domain.ToLowerInvariant() };
        if (domain != "*" && !ConfigNames.IsHostname(domain))
            routes.Error(node, domain, $"'{domain}' is not a domain name or \"*\"");
        string? host;
        if (node is ConfigScalar { Value: { } text })
            host = text;
        else if (routes.SectionOf(node, domain) is { } map)
        {
            map.Known("host", "tls", "auth", "cut_through");
            host = map.String("host");
            route.CutThrough = map.Bool("cut_through") ?? true;
            route.Tls = map.Enum<OutboundTls>("tls");
            if (map.Section("auth") is { } auth)
            {
                auth.Known("user", "password");
                route.User = auth.String("user");
                route.Password = auth.String("password");
                if (route.User is null || route.Password is null)
                    auth.Error(null, "needs both user and password");
            }
        }
        else
            return;
        if (host is null)
        {
            routes.Error(node, domain + ".host", "is required");
            return;
        }
        // host, host:port, IPv4:port or [IPv6]:port
        var colon = host.LastIndexOf(':');
        var bracketed = host.StartsWith('[');
        if (colon > 0 && (bracketed ? host[colon - 1] == ']' : host.IndexOf(':', StringComparison.Ordinal) == colon))
        {
            if (!int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                routes.Error(node, domain, $"'{host}' has no valid port");
            route.Port = port;
            host = host[..colon];
        }
        route.Host = host.Trim('[', ']');
        if (!ConfigNames.IsHostname(route.Host) && !IPAddress.TryParse(route.Host, out _))
            routes.Error(node, domain, $"'{route.Host}' is not a host name or IP address");
        list.Add(route);
    }

    private static void BindDelivery(ConfigSection delivery, DeliveryOptions o)
    {
        delivery.Known("enabled", "remote_port", "tls", "retry", "max_attempts", "delay_warning", "max_concurrency", "max_per_destination",
            "max_messages_per_connection", "connection_idle", "lease", "timeouts");
        o.Enabled = delivery.Bool("enabled") ?? o.Enabled;
        o.RemotePort = delivery.Int("remote_port", 1, 65535) ?? o.RemotePort;
        o.Tls = delivery.Enum<OutboundTls>("tls") ?? o.Tls;
        o.MaxAttempts = delivery.Int("max_attempts", 0, 1_000_000) ?? o.MaxAttempts;
        o.DelayWarning = delivery.Duration("delay_warning") ?? o.DelayWarning;
        o.MaxConcurrency = delivery.Int("max_concurrency", 1, 10_000) ?? o.MaxConcurrency;
        o.MaxPerDestination = delivery.Int("max_per_destination", 1, 10_000) ?? o.MaxPerDestination;
        o.MaxMessagesPerConnection = delivery.Int("max_messages_per_connection", 1, 1_000_000) ?? o.MaxMessagesPerConnection;
        o.ConnectionIdle = delivery.Duration("connection_idle") ?? o.ConnectionIdle;
        o.Lease = delivery.Duration("lease") ?? o.Lease;
        if (delivery.Section("retry") is { } retry)
        {
            retry.Known("min", "max", "factor", "max_age");
            o.Retry.Min = retry.Duration("min") ?? o.Retry.Min;
            o.Retry.Max = retry.Duration("max") ?? o.Retry.Max;
            o.Retry.MaxAge = retry.Duration("max_age") ?? o.Retry.MaxAge;
            o.Retry.Factor = retry.Number("factor", 1, 100) ?? o.Retry.Factor;
            if (o.Retry.Max < o.Retry.Min)
                retry.ErrorAtSection("max", "must not be less than min");
        }
        if (delivery.Section("timeouts") is { } timeouts)
        {
            timeouts.Known("connect", "command", "data_block", "data_end");
            o.Timeouts.Connect = timeouts.Duration("connect") ?? o.Timeouts.Connect;
            o.Timeouts.Command = timeouts.Duration("command") ?? o.Timeouts.Command;
            o.Timeouts.DataBlock = timeouts.Duration("data_block") ?? o.Timeouts.DataBlock;
            o.Timeouts.DataEnd = timeouts.Duration("data_end") ?? o.Timeouts.DataEnd;
        }
    }

    /// <summary>targets: { archive: { type: http, url: ... } }: the section, with errors of its own, goes to the target type to read when it is built.</summary>
    private static void BindTarget(ConfigSection targets, string name, ConfigNode node, Dictionary<string, TargetSpec> specs)
    {
        if (!ConfigNames.IsName(name))
            targets.Error(node, name, "a target name is letters, digits, '_' and '-'");
        else if (RouteKey.BuiltInTargets.Contains(name))
            targets.Error(node, name, $"'{name}' is a built-in target and cannot be redefined");
        if (targets.SectionOf(node, name) is not { } section)
            return;
        if (section.String("type") is not { } type)
        {
            section.ErrorAtSection("type", "is required (relay, maildir, http, or a type an extension registered)");
            return;
        }
        specs[name] = new TargetSpec { Name = name, Type = type, Section = targets.Separate((ConfigMap)node, name) };
    }
}
