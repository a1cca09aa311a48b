using System.Globalization;
using System.Net;
using Hermod.Core.Smtp;

namespace Hermod.Core.Configuration;

/// <summary>
/// Binds the raw tree to <see cref="HermodOptions"/>. Every problem is collected as
/// "origin: key: reason" so one run reports all of them; unknown keys are errors (typos must not pass silently).
/// </summary>
internal sealed class ConfigBinder(string source)
{
    public List<string> Errors { get; } = [];

    public HermodOptions Bind(ConfigMap root)
    {
        var o = new HermodOptions();
        Known(root, "", "hostname", "data_dir", "storage", "smtp", "tls", "users", "http", "log", "dns", "routes", "delivery",
            "mini_mailgun", "api", "retention", "webhooks", "pipelines", "targets");
        o.Hostname = String(root, "", "hostname") ?? o.Hostname;
        if (!IsHostname(o.Hostname))
            Error(root, "hostname", $"'{o.Hostname}' is not a valid host name");
        o.DataDir = String(root, "", "data_dir") ?? o.DataDir;

        if (Map(root, "", "storage") is { } storage)
        {
            Known(storage, "storage", "provider", "max_batch", "chunk_size", "segment_size");
            o.Storage.Provider = String(storage, "storage", "provider") ?? o.Storage.Provider;
            if (o.Storage.Provider != "sqlite")
                Error(storage, "storage.provider", $"'{o.Storage.Provider}' is not supported (supported: sqlite)");
            o.Storage.MaxBatch = Int(storage, "storage", "max_batch", 1, 100_000) ?? o.Storage.MaxBatch;
            o.Storage.ChunkSize = (int)(Size(storage, "storage", "chunk_size", 4096, 16L << 20) ?? o.Storage.ChunkSize);
            o.Storage.SegmentSize = Size(storage, "storage", "segment_size", 1L << 20, 1L << 40) ?? o.Storage.SegmentSize;
        }

        if (Map(root, "", "smtp") is { } smtp)
            BindSmtp(smtp, o.Smtp);
        if (o.Smtp.LocalDomains.Count == 0)
            o.Smtp.LocalDomains = [o.Hostname, "localhost"];

        if (Map(root, "", "tls") is { } tls)
        {
            Known(tls, "tls", "certificate", "key");
            o.Tls.Certificate = String(tls, "tls", "certificate");
            o.Tls.Key = String(tls, "tls", "key");
            if ((o.Tls.Certificate is null) != (o.Tls.Key is null))
                Error(tls, "tls", "set both certificate and key, or neither (then a self-signed certificate is made)");
        }

        if (Get(root, "users") is { } usersNode)
        {
            if (usersNode is not ConfigList users)
                Error(usersNode, "users", "must be a list of { name, password_hash }");
            else
                for (var i = 0; i < users.Items.Count; i++)
                {
                    var key = $"users[{i}]";
                    if (AsMap(users.Items[i], key) is not { } u)
                        continue;
                    Known(u, key, "name", "password_hash");
                    var user = new UserOptions
                    {
                        Name = String(u, key, "name") ?? "",
                        PasswordHash = String(u, key, "password_hash") ?? "",
                    };
                    if (user.Name.Length == 0)
                        Error(u, key + ".name", "is required");
                    if (!Security.PasswordHasher.IsHash(user.PasswordHash))
                        Error(u, key + ".password_hash", "is not a hash made by 'hermod hash-password'");
                    o.Users.Add(user);
                }
        }

        if (Map(root, "", "http") is { } http)
        {
            Known(http, "http", "address", "pipeline", "cut_through");
            o.Http.Address = EndPoint(http, "http", "address") ?? o.Http.Address;
            o.Http.Pipeline = String(http, "http", "pipeline");
            BindCutThrough(http, "http", o.Http.CutThrough);
        }

        if (Map(root, "", "log") is { } log)
        {
            Known(log, "log", "level");
            o.Log.Level = String(log, "log", "level") ?? o.Log.Level;
            string[] levels = ["trace", "debug", "information", "warning", "error", "critical", "none"];
            if (!levels.Contains(o.Log.Level.ToLowerInvariant()))
                Error(log, "log.level", $"'{o.Log.Level}' is not one of {string.Join(", ", levels)}");
        }

        if (Map(root, "", "dns") is { } dns)
        {
            Known(dns, "dns", "servers", "timeout", "attempts");
            foreach (var server in Strings(dns, "dns", "servers") ?? [])
                if (IPEndPoint.TryParse(server, out var ep))
                    o.Dns.Servers.Add(ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep);
                else
                    Error(dns, "dns.servers", $"'{server}' is not an IP address or IP:port");
            o.Dns.Timeout = Duration(dns, "dns", "timeout") ?? o.Dns.Timeout;
            o.Dns.Attempts = Int(dns, "dns", "attempts", 1, 10) ?? o.Dns.Attempts;
        }

        if (Map(root, "", "routes") is { } routes)
            foreach (var (domain, node) in routes.Entries)
                BindRoute(domain, node, o.Routes);

        if (Map(root, "", "delivery") is { } delivery)
            BindDelivery(delivery, o.Delivery);

        if (Map(root, "", "mini_mailgun") is { } miniMailgun)
        {
            Known(miniMailgun, "mini_mailgun", "clients");
            o.MiniMailgun.Clients = Strings(miniMailgun, "mini_mailgun", "clients") ?? o.MiniMailgun.Clients;
            if (o.MiniMailgun.Clients.Any(c => c.Length == 0))
                Error(miniMailgun, "mini_mailgun.clients", "a client id may not be empty");
        }

        if (Map(root, "", "api") is { } api)
        {
            Known(api, "api", "max_request_size", "max_recipients", "max_attachment_size");
            o.Api.MaxRequestSize = Size(api, "api", "max_request_size", 1024, 1L << 32) ?? o.Api.MaxRequestSize;
            o.Api.MaxRecipients = Int(api, "api", "max_recipients", 1, 100_000) ?? o.Api.MaxRecipients;
            o.Api.MaxAttachmentSize = Size(api, "api", "max_attachment_size", 1, 1L << 32) ?? o.Api.MaxAttachmentSize;
        }

        o.Retention = Duration(root, "", "retention") ?? o.Retention;

        if (Get(root, "webhooks") is { } webhooksNode)
        {
            if (webhooksNode is not ConfigList webhooks)
                Error(webhooksNode, "webhooks", "must be a list of { url, secret, tenant }");
            else
                for (var i = 0; i < webhooks.Items.Count; i++)
                {
                    var key = $"webhooks[{i}]";
                    if (AsMap(webhooks.Items[i], key) is not { } w)
                        continue;
                    Known(w, key, "url", "secret", "tenant");
                    var url = String(w, key, "url");
                    var hook = new WebhookOptions { Secret = String(w, key, "secret") ?? "", Tenant = String(w, key, "tenant") };
                    if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                        hook.Url = uri;
                    else
                        Error(w, key + ".url", $"'{url}' is not an http:// or https:// URL");
                    if (hook.Secret.Length < 16)
                        Error(w, key + ".secret", "is required, at least 16 characters (it signs each request)");
                    o.Webhooks.Add(hook);
                }
        }
        if (Map(root, "", "targets") is { } targets)
            foreach (var (name, node) in targets.Entries)
                BindTarget(name, node, o.Targets);
        if (Map(root, "", "pipelines") is { } pipelines)
            foreach (var (name, node) in pipelines.Entries)
            {
                var key = $"pipelines.{name}";
                if (!IsName(name))
                    Error(node, key, "a pipeline name is letters, digits, '_' and '-'");
                if (AsMap(node, key) is { } map)
                    o.Pipelines[name] = BindBlock(map, key, BlockLevel.Root, o.Targets);
            }
        // Pipelines are bound after smtp: and http:, so references are checked here, at the line of the reference.
        var listenerNodes = Get(root, "smtp") is ConfigMap smtpNode && Get(smtpNode, "listeners") is ConfigList listenerList ? listenerList.Items : [];
        foreach (var (i, listener) in o.Smtp.Listeners.Index())
            if (listener.Pipeline is { } name && !o.Pipelines.ContainsKey(name))
                Error(i < listenerNodes.Count && listenerNodes[i] is ConfigMap listenerNode && Get(listenerNode, "pipeline") is { } reference ? reference : root,
                    $"smtp.listeners[{i}].pipeline", $"no pipeline '{name}' under pipelines:");
        if (o.Http.Pipeline is { } httpPipeline && !o.Pipelines.ContainsKey(httpPipeline))
            Error(Get(root, "http") is ConfigMap httpNode && Get(httpNode, "pipeline") is { } httpReference ? httpReference : root, "http.pipeline", $"no pipeline '{httpPipeline}' under pipelines:");
        return o;
    }

    /// <summary>cut_through: false | true | { enabled, rcpt_timeout, data_timeout }.</summary>
    private void BindCutThrough(ConfigMap parent, string prefix, CutThroughOptions o)
    {
        var key = Join(prefix, "cut_through");
        switch (Get(parent, "cut_through"))
        {
            case null:
                return;
            case ConfigScalar:
                o.Enabled = Bool(parent, prefix, "cut_through") ?? o.Enabled;
                return;
            case ConfigMap map:
                Known(map, key, "enabled", "rcpt_timeout", "data_timeout");
                o.Enabled = Bool(map, key, "enabled") ?? o.Enabled;
                o.RcptTimeout = Duration(map, key, "rcpt_timeout") ?? o.RcptTimeout;
                o.DataTimeout = Duration(map, key, "data_timeout") ?? o.DataTimeout;
                return;
            case var other:
                Error(other, key, "must be true, false or { enabled, rcpt_timeout, data_timeout }");
                return;
        }
    }

    internal static bool IsName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>Target types Hermod has built in; extensions may register more (checked when the targets are built).</summary>
    internal static readonly string[] BuiltInTargets = ["remote", "discard", "quarantine"];

    /// <summary>targets: { archive: { type: http, url: ... } }: the section goes to the target type to read.</summary>
    private void BindTarget(string name, ConfigNode node, Dictionary<string, TargetSpec> targets)
    {
        var key = $"targets.{name}";
        if (!IsName(name))
            Error(node, key, "a target name is letters, digits, '_' and '-'");
        else if (BuiltInTargets.Contains(name))
            Error(node, key, $"'{name}' is a built-in target and cannot be redefined");
        if (AsMap(node, key) is not { } map)
            return;
        if (String(map, key, "type") is not { } type)
        {
            Error(map, key + ".type", "is required (relay, maildir, http, or a type an extension registered)");
            return;
        }
        targets[name] = new TargetSpec { Name = name, Type = type, Section = new ComponentConfig(type, key, map, source) };
    }

    /// <summary>DestinationDefault: the default beside destination blocks — it matches what they do not, so it has no match of its own.</summary>
    private enum BlockLevel { Root, Source, Destination, SourceDefault, DestinationDefault }

    /// <summary>A pipeline or dispatch block: checks, modifiers, and one way to end (see <see cref="DispatchBlockOptions"/>).</summary>
    private DispatchBlockOptions BindBlock(ConfigMap map, string key, BlockLevel level, Dictionary<string, TargetSpec> targets)
    {
        var block = new DispatchBlockOptions { Key = key };
        var keys = new List<string> { "checks", "modifiers", "deliver_to", "reject" };
        if (level is BlockLevel.Source or BlockLevel.Destination)
            keys.AddRange(["match", "table"]);
        if (level == BlockLevel.Source)
            keys.Add("users");
        if (level == BlockLevel.Root)
            keys.AddRange(["source", "processors"]);
        if (level is not (BlockLevel.Destination or BlockLevel.DestinationDefault))
            keys.AddRange(["destination", "default"]);
        Known(map, key, [.. keys]);

        block.Checks = Components(map, key, "checks", ComponentSort.Check);
        block.Modifiers = Components(map, key, "modifiers", ComponentSort.Modifier);
        if (level == BlockLevel.Root && Get(map, "processors") is not null)
        {
            block.Processors = Components(map, key, "processors", ComponentSort.Processor);
            if (!block.Processors.Any(p => p.Kind == "trace_header"))
                Error(map, Join(key, "processors"), "must include trace_header (RFC 5321 4.4: every hop adds a Received header)");
        }
        block.Match = Strings(map, key, "match") ?? [];
        foreach (var entry in block.Match.Where(e => !IsAddressOrDomain(e)))
            Error(map, Join(key, "match"), $"'{entry}' is not an address or a domain");
        block.Table = String(map, key, "table");
        if (block.Table is not null && !File.Exists(block.Table))
            Error(map, Join(key, "table"), $"'{block.Table}' does not exist");
        block.Users = Strings(map, key, "users") ?? [];
        if (level is BlockLevel.Source or BlockLevel.Destination && block.Match.Count == 0 && block.Table is null && block.Users.Count == 0)
            Error(map, key, level == BlockLevel.Source ? "a source block needs match, users or table" : "a destination block needs match or table");

        if (Get(map, "source") is ConfigList sources)
        {
            for (var i = 0; i < sources.Items.Count; i++)
                if (AsMap(sources.Items[i], $"{key}.source[{i}]") is { } item)
                    block.Source.Add(BindBlock(item, $"{key}.source[{i}]", BlockLevel.Source, targets));
        }
        else if (Get(map, "source") is { } notList)
            Error(notList, Join(key, "source"), "must be a list of source blocks");
        if (Get(map, "destination") is ConfigList destinations)
        {
            for (var i = 0; i < destinations.Items.Count; i++)
                if (AsMap(destinations.Items[i], $"{key}.destination[{i}]") is { } item)
                    block.Destination.Add(BindBlock(item, $"{key}.destination[{i}]", BlockLevel.Destination, targets));
        }
        else if (Get(map, "destination") is { } notList)
            Error(notList, Join(key, "destination"), "must be a list of destination blocks");
        if (Map(map, key, "default") is { } defaultMap)
            block.Default = BindBlock(defaultMap, Join(key, "default"),
                block.Source.Count > 0 || level == BlockLevel.Root && block.Destination.Count == 0 ? BlockLevel.SourceDefault : BlockLevel.DestinationDefault, targets);

        block.DeliverTo = Strings(map, key, "deliver_to");
        foreach (var target in block.DeliverTo ?? [])
            if (!BuiltInTargets.Contains(target) && !targets.ContainsKey(target))
                Error(map, Join(key, "deliver_to"), $"no target '{target}' (built in: {string.Join(", ", BuiltInTargets)}; others are defined under targets:)");
        if (block.DeliverTo is { Count: 0 })
            Error(map, Join(key, "deliver_to"), "names no target");
        if (Map(map, key, "reject") is { } reject)
        {
            var r = Join(key, "reject");
            Known(reject, r, "code", "enhanced", "text");
            var code = Int(reject, r, "code", 400, 599) ?? 550;
            var enhanced = String(reject, r, "enhanced");
            var status = code >= 500 ? new EnhancedStatusCode(5, 7, 1) : new EnhancedStatusCode(4, 7, 1);
            if (enhanced is not null && (!EnhancedStatusCode.TryParse(enhanced, out status) || status.Class != code / 100))
                Error(reject, r + ".enhanced", $"'{enhanced}' is not an enhanced status code of the same class as {code}");
            var text = String(reject, r, "text") ?? "Message refused";
            if (text.Any(c => c is < ' ' or > '~'))
                Error(reject, r + ".text", "must be printable ASCII on one line");
            block.Reject = new SmtpReply(code, status, text);
        }

        var endings = (block.DeliverTo is not null ? 1 : 0) + (block.Reject is not null ? 1 : 0) + (block.Source.Count > 0 || block.Destination.Count > 0 ? 1 : 0);
        if (block.Source.Count > 0 && block.Destination.Count > 0)
            Error(map, key, "has both source and destination blocks: put destination blocks inside the source blocks (and default)");
        else if (endings > 1)
            Error(map, key, "ends in more than one way: use one of deliver_to, reject, or source/destination blocks with a default");
        else if (block.Source.Count + block.Destination.Count > 0 && block.Default is null)
            Error(map, key, "has source or destination blocks but no default (where does the rest go?)");
        else if (block.Default is not null && block.Source.Count + block.Destination.Count == 0)
            Error(map, Join(key, "default"), "only goes with source or destination blocks");
        else if (endings == 0 && level != BlockLevel.Root)
            Error(map, key, "needs deliver_to, reject, or destination blocks with a default");
        return block;
    }

    private static bool IsAddressOrDomain(string entry)
    {
        var at = entry.LastIndexOf('@');
        return at < 0 ? IsHostname(entry) : at > 0 && IsHostname(entry[(at + 1)..]) && !entry.Any(char.IsWhiteSpace);
    }

    /// <summary>
    /// checks: [ spf, { dnsbl: { zones: [...], timeout: 2s } } ]: each item names a component and holds its options;
    /// checks and modifiers may have a timeout, checks also on_timeout (those keys are Hermod's, not the component's).
    /// </summary>
    private enum ComponentSort { Check, Modifier, Processor }

    private List<ComponentSpec> Components(ConfigMap map, string prefix, string key, ComponentSort sort)
    {
        var result = new List<ComponentSpec>();
        switch (Get(map, key))
        {
            case null:
                return result;
            case ConfigList list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var itemKey = $"{Join(prefix, key)}[{i}]";
                    switch (list.Items[i])
                    {
                        case ConfigScalar { Value: { } name }:
                            result.Add(new ComponentSpec { Kind = name, Section = new ComponentConfig(name, $"{itemKey}.{name}", new ConfigMap { Origin = list.Items[i].Origin }, source) });
                            break;
                        case ConfigMap { Entries.Count: 1 } item:
                            var (kind, node) = item.Entries.First();
                            var sectionKey = $"{itemKey}.{kind}";
                            var section = node switch
                            {
                                ConfigMap m => m,
                                ConfigScalar { Value: null } => new ConfigMap { Origin = node.Origin },
                                _ => null,
                            };
                            if (section is null)
                            {
                                Error(node, sectionKey, "must be a mapping of options (or nothing)");
                                break;
                            }
                            TimeSpan? timeout = null;
                            string? onTimeout = null;
                            if (sort != ComponentSort.Processor)
                            {
                                timeout = Duration(section, sectionKey, "timeout");
                                section.Entries.Remove("timeout");
                            }
                            if (sort == ComponentSort.Check)
                            {
                                onTimeout = String(section, sectionKey, "on_timeout");
                                if (onTimeout is not null and not ("tempfail" or "reject" or "accept"))
                                    Error(section, sectionKey + ".on_timeout", $"'{onTimeout}' is not one of tempfail, reject, accept");
                                section.Entries.Remove("on_timeout");
                            }
                            result.Add(new ComponentSpec { Kind = kind, Section = new ComponentConfig(kind, sectionKey, section, source), Timeout = timeout, OnTimeout = onTimeout });
                            break;
                        default:
                            Error(list.Items[i], itemKey, "must be a name, or a mapping of one name to its options");
                            break;
                    }
                }
                return result;
            default:
                Error(map, Join(prefix, key), "must be a list");
                return result;
        }
    }

    /// <summary>routes: { "example.test": "127.0.0.1:2600", "*": { host: smarthost.test:587, tls: required, auth: { user, password } } }</summary>
    private void BindRoute(string domain, ConfigNode node, List<RouteOptions> routes)
    {
        var key = $"routes.{domain}";
        var route = new RouteOptions { Domain = domain.ToLowerInvariant() };
        if (domain != "*" && !IsHostname(domain))
            Error(node, key, $"'{domain}' is not a domain name or \"*\"");
        string? host;
        if (node is ConfigScalar { Value: { } text })
            host = text;
        else if (AsMap(node, key) is { } map)
        {
            Known(map, key, "host", "tls", "auth", "cut_through");
            host = String(map, key, "host");
            route.CutThrough = Bool(map, key, "cut_through") ?? true;
            route.Tls = Enum<OutboundTls>(map, key, "tls");
            if (Map(map, key, "auth") is { } auth)
            {
                Known(auth, key + ".auth", "user", "password");
                route.User = String(auth, key + ".auth", "user");
                route.Password = String(auth, key + ".auth", "password");
                if (route.User is null || route.Password is null)
                    Error(auth, key + ".auth", "needs both user and password");
            }
        }
        else
            return;
        if (host is null)
        {
            Error(node, key + ".host", "is required");
            return;
        }
        // host, host:port, IPv4:port or [IPv6]:port
        var colon = host.LastIndexOf(':');
        var bracketed = host.StartsWith('[');
        if (colon > 0 && (bracketed ? host[colon - 1] == ']' : host.IndexOf(':', StringComparison.Ordinal) == colon))
        {
            if (!int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                Error(node, key, $"'{host}' has no valid port");
            route.Port = port;
            host = host[..colon];
        }
        route.Host = host.Trim('[', ']');
        if (!IsHostname(route.Host) && !IPAddress.TryParse(route.Host, out _))
            Error(node, key, $"'{route.Host}' is not a host name or IP address");
        routes.Add(route);
    }

    private void BindDelivery(ConfigMap delivery, DeliveryOptions o)
    {
        const string k = "delivery";
        Known(delivery, k, "enabled", "remote_port", "tls", "retry", "max_attempts", "delay_warning", "max_concurrency", "max_per_destination",
            "max_messages_per_connection", "connection_idle", "lease", "timeouts");
        o.Enabled = Bool(delivery, k, "enabled") ?? o.Enabled;
        o.RemotePort = Int(delivery, k, "remote_port", 1, 65535) ?? o.RemotePort;
        o.Tls = Enum<OutboundTls>(delivery, k, "tls") ?? o.Tls;
        o.MaxAttempts = Int(delivery, k, "max_attempts", 0, 1_000_000) ?? o.MaxAttempts;
        o.DelayWarning = Duration(delivery, k, "delay_warning") ?? o.DelayWarning;
        o.MaxConcurrency = Int(delivery, k, "max_concurrency", 1, 10_000) ?? o.MaxConcurrency;
        o.MaxPerDestination = Int(delivery, k, "max_per_destination", 1, 10_000) ?? o.MaxPerDestination;
        o.MaxMessagesPerConnection = Int(delivery, k, "max_messages_per_connection", 1, 1_000_000) ?? o.MaxMessagesPerConnection;
        o.ConnectionIdle = Duration(delivery, k, "connection_idle") ?? o.ConnectionIdle;
        o.Lease = Duration(delivery, k, "lease") ?? o.Lease;
        if (Map(delivery, k, "retry") is { } retry)
        {
            const string r = "delivery.retry";
            Known(retry, r, "min", "max", "factor", "max_age");
            o.Retry.Min = Duration(retry, r, "min") ?? o.Retry.Min;
            o.Retry.Max = Duration(retry, r, "max") ?? o.Retry.Max;
            o.Retry.MaxAge = Duration(retry, r, "max_age") ?? o.Retry.MaxAge;
            if (Scalar(retry, r, "factor") is var (node, text))
            {
                if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var f) && f >= 1 && f <= 100)
                    o.Retry.Factor = f;
                else
                    Error(node, r + ".factor", $"'{text}' is not a number from 1 to 100");
            }
            if (o.Retry.Max < o.Retry.Min)
                Error(retry, r + ".max", "must not be less than min");
        }
        if (Map(delivery, k, "timeouts") is { } timeouts)
        {
            const string t = "delivery.timeouts";
            Known(timeouts, t, "connect", "command", "data_block", "data_end");
            o.Timeouts.Connect = Duration(timeouts, t, "connect") ?? o.Timeouts.Connect;
            o.Timeouts.Command = Duration(timeouts, t, "command") ?? o.Timeouts.Command;
            o.Timeouts.DataBlock = Duration(timeouts, t, "data_block") ?? o.Timeouts.DataBlock;
            o.Timeouts.DataEnd = Duration(timeouts, t, "data_end") ?? o.Timeouts.DataEnd;
        }
    }

    private void BindSmtp(ConfigMap smtp, SmtpOptions o)
    {
        Known(smtp, "smtp", "local_domains", "listeners", "limits", "timeouts", "bare_line_endings");
        o.LocalDomains = Strings(smtp, "smtp", "local_domains") ?? o.LocalDomains;
        foreach (var d in o.LocalDomains.Where(d => !IsHostname(d)))
            Error(smtp, "smtp.local_domains", $"'{d}' is not a domain name");
        o.BareLineEndings = Enum<BareLineEndingPolicy>(smtp, "smtp", "bare_line_endings") ?? o.BareLineEndings;

        if (Get(smtp, "listeners") is { } listenersNode)
        {
            o.Listeners = [];
            if (listenersNode is not ConfigList listeners || listeners.Items.Count == 0)
                Error(listenersNode, "smtp.listeners", "must be a non-empty list of listeners");
            else
                for (var i = 0; i < listeners.Items.Count; i++)
                {
                    var key = $"smtp.listeners[{i}]";
                    if (AsMap(listeners.Items[i], key) is not { } l)
                        continue;
                    Known(l, key, "name", "address", "role", "tls", "auth", "allow_plaintext_auth", "pipeline", "cut_through");
                    var listener = new ListenerOptions { Name = String(l, key, "name") ?? $"smtp{i}" };
                    listener.Address = EndPoint(l, key, "address") ?? listener.Address;
                    listener.Role = Enum<ListenerRole>(l, key, "role") ?? listener.Role;
                    listener.Tls = Enum<TlsMode>(l, key, "tls") ?? listener.Tls;
                    listener.Auth = Enum<AuthMode>(l, key, "auth") ?? (listener.Role == ListenerRole.Submission ? AuthMode.Required : AuthMode.None);
                    listener.AllowPlaintextAuth = Bool(l, key, "allow_plaintext_auth") ?? false;
                    listener.Pipeline = String(l, key, "pipeline");
                    BindCutThrough(l, key, listener.CutThrough);
                    if (listener.Role == ListenerRole.Submission && listener.Auth != AuthMode.Required)
                        Error(l, key + ".auth", "a submission listener relays anywhere, so it must have auth: required");
                    if (listener.Auth != AuthMode.None && listener.Tls == TlsMode.None && !listener.AllowPlaintextAuth)
                        Error(l, key + ".tls", "AUTH is only offered over TLS: set tls to starttls or implicit, or allow_plaintext_auth: true");
                    if (o.Listeners.Any(x => x.Name == listener.Name))
                        Error(l, key + ".name", $"'{listener.Name}' is used by another listener");
                    if (listener.Address.Port != 0 && o.Listeners.Any(x => x.Address.Equals(listener.Address))) // port 0: a fresh port each
                        Error(l, key + ".address", $"{listener.Address} is used by another listener");
                    o.Listeners.Add(listener);
                }
        }

        if (Map(smtp, "smtp", "limits") is { } limits)
        {
            const string k = "smtp.limits";
            Known(limits, k, "max_message_size", "max_recipients", "max_connections", "max_connections_per_ip",
                "max_command_line", "max_text_line", "max_header_size", "max_errors", "min_data_rate", "min_data_rate_grace");
            var l = o.Limits;
            l.MaxMessageSize = Size(limits, k, "max_message_size", 1024, 1L << 40) ?? l.MaxMessageSize;
            l.MaxRecipients = Int(limits, k, "max_recipients", 1, 100_000) ?? l.MaxRecipients;
            l.MaxConnections = Int(limits, k, "max_connections", 1, 1_000_000) ?? l.MaxConnections;
            l.MaxConnectionsPerIp = Int(limits, k, "max_connections_per_ip", 1, 1_000_000) ?? l.MaxConnectionsPerIp;
            l.MaxCommandLine = (int)(Size(limits, k, "max_command_line", 512, 65536) ?? l.MaxCommandLine);
            l.MaxTextLine = (int)(Size(limits, k, "max_text_line", 1000, 1 << 20) ?? l.MaxTextLine);
            l.MaxHeaderSize = (int)(Size(limits, k, "max_header_size", 1024, 64L << 20) ?? l.MaxHeaderSize);
            l.MaxErrors = Int(limits, k, "max_errors", 1, 1000) ?? l.MaxErrors;
            l.MinDataRate = Size(limits, k, "min_data_rate", 0, 1L << 30) ?? l.MinDataRate;
            l.MinDataRateGrace = Duration(limits, k, "min_data_rate_grace") ?? l.MinDataRateGrace;
        }

        if (Map(smtp, "smtp", "timeouts") is { } timeouts)
        {
            const string k = "smtp.timeouts";
            Known(timeouts, k, "command", "data_block", "data_total", "tls_handshake");
            var t = o.Timeouts;
            t.Command = Duration(timeouts, k, "command") ?? t.Command;
            t.DataBlock = Duration(timeouts, k, "data_block") ?? t.DataBlock;
            t.DataTotal = Duration(timeouts, k, "data_total") ?? t.DataTotal;
            t.TlsHandshake = Duration(timeouts, k, "tls_handshake") ?? t.TlsHandshake;
        }
    }

    internal static bool IsHostname(string name) =>
        name.Length is > 0 and <= 253 && Uri.CheckHostName(name) == UriHostNameType.Dns;

    internal void Error(ConfigNode node, string key, string reason) =>
        Errors.Add($"{(node.Origin.Length > 0 ? node.Origin : source)}: {key}: {reason}");

    internal static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;

    internal void Known(ConfigMap map, string prefix, params string[] keys)
    {
        foreach (var (key, node) in map.Entries)
            if (!keys.Contains(key, StringComparer.OrdinalIgnoreCase))
                Error(node, Join(prefix, key), $"unknown key (known here: {string.Join(", ", keys)})");
    }

    internal static ConfigNode? Get(ConfigMap map, string key) => map.Entries.GetValueOrDefault(key);

    internal ConfigMap? AsMap(ConfigNode node, string key)
    {
        if (node is ConfigMap m)
            return m;
        Error(node, key, "must be a mapping of keys");
        return null;
    }

    internal ConfigMap? Map(ConfigMap map, string prefix, string key) =>
        Get(map, key) is { } node ? AsMap(node, Join(prefix, key)) : null;

    internal (ConfigScalar Node, string Text)? Scalar(ConfigMap map, string prefix, string key)
    {
        switch (Get(map, key))
        {
            case null:
            case ConfigScalar { Value: null }:
                return null;
            case ConfigScalar s:
                return (s, s.Value);
            case var other:
                Error(other, Join(prefix, key), "must be a single value");
                return null;
        }
    }

    internal string? String(ConfigMap map, string prefix, string key) => Scalar(map, prefix, key)?.Text;

    internal int? Int(ConfigMap map, string prefix, string key, int min, int max)
    {
        if (Scalar(map, prefix, key) is not var (node, text))
            return null;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
            return n;
        Error(node, Join(prefix, key), $"'{text}' is not a whole number from {min} to {max}");
        return null;
    }

    internal long? Size(ConfigMap map, string prefix, string key, long min, long max)
    {
        if (Scalar(map, prefix, key) is not var (node, text))
            return null;
        if (Units.TryParseSize(text, out var n) && n >= min && n <= max)
            return n;
        Error(node, Join(prefix, key), $"'{text}' is not a size from {min} to {max} bytes (examples: 1000, 64KB, 50MB)");
        return null;
    }

    internal TimeSpan? Duration(ConfigMap map, string prefix, string key)
    {
        if (Scalar(map, prefix, key) is not var (node, text))
            return null;
        if (Units.TryParseDuration(text, out var d) && d > TimeSpan.Zero)
            return d;
        Error(node, Join(prefix, key), $"'{text}' is not a positive duration (examples: 500ms, 30s, 5m, 1h, 7d)");
        return null;
    }

    internal bool? Bool(ConfigMap map, string prefix, string key)
    {
        if (Scalar(map, prefix, key) is not var (node, text))
            return null;
        if (bool.TryParse(text, out var b))
            return b;
        Error(node, Join(prefix, key), $"'{text}' is not true or false");
        return null;
    }

    internal T? Enum<T>(ConfigMap map, string prefix, string key) where T : struct, Enum
    {
        if (Scalar(map, prefix, key) is not var (node, text))
            return null;
        if (!text.Contains('_') && System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && System.Enum.IsDefined(value) && !char.IsAsciiDigit(text[0]))
            return value;
        var names = System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant());
        Error(node, Join(prefix, key), $"'{text}' is not one of {string.Join(", ", names)}");
        return null;
    }

    internal IPEndPoint? EndPoint(ConfigMap map, string prefix, string key)
    {
        if (Scalar(map, prefix, key) is not var (node, text))
            return null;
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port is >= 0 and <= 65535 && text.Contains(':'))
            return ep;
        Error(node, Join(prefix, key), $"'{text}' is not an IP:port address (examples: 127.0.0.1:2525, [::1]:2525)");
        return null;
    }

    internal List<string>? Strings(ConfigMap map, string prefix, string key)
    {
        switch (Get(map, key))
        {
            case null:
                return null;
            case ConfigList list:
                var result = new List<string>();
                foreach (var item in list.Items)
                    if (item is ConfigScalar { Value: { } v })
                        result.Add(v);
                    else
                        Error(item, Join(prefix, key), "items must be single values");
                return result;
            case ConfigScalar { Value: { } csv }: // from the environment: "a.test,b.test"
                return [.. csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            case var other:
                Error(other, Join(prefix, key), "must be a list");
                return null;
        }
    }
}
