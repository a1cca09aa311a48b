using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Dns;
using Hermod.Hosting.Http;
using Hermod.Policy.Configuration;
using Hermod.Smtp.Configuration;

namespace Hermod.Hosting.Configuration;

/// <summary>
/// Binds the whole configuration: refuses unknown keys at the top, reads the keys every area shares and those of
/// the host (tls:, users:, log:, dns:), runs each area's binder on the tree, and checks what one area names in
/// another (a listener's or http's pipeline). Every problem of every area is collected, so one run reports all of
/// them in one <see cref="ConfigException"/>.
/// </summary>
public static class HermodConfigBinder
{
    private static readonly string[] LogLevels = ["trace", "debug", "information", "warning", "error", "critical", "none"];

    /// <param name="root">The root of the tree (key "").</param>
    /// <exception cref="ConfigException">Every problem found, as "file:line: key: reason".</exception>
    public static HermodConfiguration Bind(ConfigSection root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var c = new HermodConfiguration();
        root.Known("hostname", "data_dir", "cluster", "storage", "smtp", "tls", "users", "http", "log", "dns", "routes", "delivery",
            "mini_mailgun", "api", "retention", "webhooks", "pipelines", "targets");
        c.Hermod.Hostname = root.String("hostname") ?? c.Hermod.Hostname;
        if (!ConfigNames.IsHostname(c.Hermod.Hostname))
            root.ErrorAtSection("hostname", $"'{c.Hermod.Hostname}' is not a valid host name");
        c.Hermod.DataDir = root.String("data_dir") ?? c.Hermod.DataDir;
        if (root.Section("cluster") is { } cluster)
            c.Hermod.NodeName = BindNodeName(cluster) ?? c.Hermod.NodeName;
        c.Storage = BindStorage(root) ?? c.Storage;
        c.Smtp = SmtpConfigBinder.Bind(root, c.Hermod.Hostname);
        if (root.Section("tls") is { } tls)
            c.Tls = BindTls(tls);
        c.Users = BindUsers(root);
        c.Http = HttpConfigBinder.Bind(root);
        if (root.Section("log") is { } log)
            c.Log = BindLog(log);
        if (root.Section("dns") is { } dns)
            c.Dns = BindDns(dns);
        c.Delivery = DeliveryConfigBinder.Bind(root);
        c.Policy = PolicyConfigBinder.Bind(root, c.Delivery.Targets.Keys);
        CheckPipelineNames(root, c);
        if (root.Errors.Count > 0)
            throw new ConfigException(root.Errors);
        c.Warnings = [.. root.Warnings];
        return c;
    }

    /// <summary>cluster: { node_name } — letters, digits, '.', '-' and '_', at most 64: it is written into every lease and log line.</summary>
    private static string? BindNodeName(ConfigSection cluster)
    {
        cluster.Known("node_name");
        var name = cluster.String("node_name");
        if (name is not null && (name.Length is 0 or > 64 || !name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '-' or '_')))
        {
            cluster.ErrorAtSection("node_name", $"'{name}' is not a node name (1 to 64 letters, digits, '.', '-', '_')");
            return null;
        }
        return name;
    }

    /// <summary>storage: goes to the provider it names (default: the first one), which reads storage.&lt;name&gt;:; null when it names none known.</summary>
    private static StorageOptions? BindStorage(ConfigSection root)
    {
        if (root.Section("storage") is not { } storage)
            return null;
        var name = storage.String("provider") ?? StorageProviders.All[0].Name;
        var provider = StorageProviders.All.FirstOrDefault(p => p.Name == name);
        var options = provider?.Bind(storage);
        if (provider is null)
            storage.ErrorAtSection("provider", $"'{name}' is not supported (supported: {string.Join(", ", StorageProviders.All.Select(p => p.Name))})");
        storage.Known(["provider", .. StorageProviders.All.Select(p => p.Name)]); // another provider's settings may stay while it is not chosen
        return options;
    }

    private static TlsOptions BindTls(ConfigSection tls)
    {
        tls.Known("certificate", "key");
        var o = new TlsOptions { Certificate = tls.String("certificate"), Key = tls.String("key") };
        if ((o.Certificate is null) != (o.Key is null))
            tls.Error(null, "set both certificate and key, or neither (then a self-signed certificate is made)");
        return o;
    }

    private static List<UserOptions> BindUsers(ConfigSection root)
    {
        var result = new List<UserOptions>();
        if (root.Node("users") is not { } usersNode)
            return result;
        if (usersNode is not ConfigList users)
        {
            root.Error(usersNode, "users", "must be a list of { name, password_hash }");
            return result;
        }
        for (var i = 0; i < users.Items.Count; i++)
        {
            if (root.SectionOf(users.Items[i], $"users[{i}]") is not { } u)
                continue;
            u.Known("name", "password_hash");
            var user = new UserOptions { Name = u.String("name") ?? "", PasswordHash = u.String("password_hash") ?? "" };
            if (user.Name.Length == 0)
                u.ErrorAtSection("name", "is required");
            if (!PasswordHasher.IsHash(user.PasswordHash))
                u.ErrorAtSection("password_hash", "is not a hash made by 'hermod hash-password'");
            result.Add(user);
        }
        return result;
    }

    private static LogOptions BindLog(ConfigSection log)
    {
        log.Known("level");
        var o = new LogOptions();
        o.Level = log.String("level") ?? o.Level;
        if (!LogLevels.Contains(o.Level.ToLowerInvariant()))
            log.ErrorAtSection("level", $"'{o.Level}' is not one of {string.Join(", ", LogLevels)}");
        return o;
    }

    private static DnsOptions BindDns(ConfigSection dns)
    {
        dns.Known("servers", "timeout", "attempts");
        var o = new DnsOptions();
        foreach (var server in dns.Strings("servers") ?? [])
            if (IPEndPoint.TryParse(server, out var ep))
                o.Servers.Add(ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep);
            else
                dns.ErrorAtSection("servers", $"'{server}' is not an IP address or IP:port");
        o.Timeout = dns.Duration("timeout") ?? o.Timeout;
        o.Attempts = dns.Int("attempts", 1, 10) ?? o.Attempts;
        return o;
    }

    /// <summary>A listener's and http's pipeline must be one under pipelines: (reported at the line of the reference).</summary>
    private static void CheckPipelineNames(ConfigSection root, HermodConfiguration c)
    {
        var listenerNodes = root.Node("smtp") is ConfigMap smtp && smtp.Entries.GetValueOrDefault("listeners") is ConfigList list ? list.Items : [];
        foreach (var (i, listener) in c.Smtp.Listeners.Index())
            if (listener.Pipeline is { } name && !c.Policy.Pipelines.ContainsKey(name))
                Unknown(root, i < listenerNodes.Count ? listenerNodes[i] : null, $"smtp.listeners[{i}].pipeline", name);
        if (c.Http.Pipeline is { } httpPipeline && !c.Policy.Pipelines.ContainsKey(httpPipeline))
            Unknown(root, root.Node("http"), "http.pipeline", httpPipeline);
    }

    /// <param name="parent">The mapping that holds the reference as "pipeline", if it was written in the tree.</param>
    private static void Unknown(ConfigSection root, ConfigNode? parent, string key, string name)
    {
        var reason = $"no pipeline '{name}' under pipelines:";
        if (parent is ConfigMap map && map.Entries.GetValueOrDefault("pipeline") is { } reference)
            root.Error(reference, key, reason);
        else
            root.ErrorAtSection(key, reason);
    }
}
