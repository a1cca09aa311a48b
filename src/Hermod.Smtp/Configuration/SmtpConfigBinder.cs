using Hermod.Core.Configuration;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Configuration;

/// <summary>Reads <c>smtp:</c> (local domains, listeners, limits, timeouts, bare line endings); problems go to the section's errors.</summary>
public static class SmtpConfigBinder
{
    /// <param name="root">The whole configuration; this reads its <c>smtp:</c>.</param>
    /// <param name="hostname">The local domain when none is configured (with localhost).</param>
    public static SmtpOptions Bind(ConfigSection root, string hostname)
    {
        var o = new SmtpOptions();
        if (root.Section("smtp") is { } smtp)
            Bind(smtp, o);
        if (o.LocalDomains.Count == 0)
            o.LocalDomains = [hostname, "localhost"];
        return o;
    }

    private static void Bind(ConfigSection smtp, SmtpOptions o)
    {
        smtp.Known("local_domains", "listeners", "limits", "timeouts", "bare_line_endings");
        o.LocalDomains = smtp.Strings("local_domains") ?? o.LocalDomains;
        foreach (var d in o.LocalDomains.Where(d => !ConfigNames.IsHostname(d)))
            smtp.ErrorAtSection("local_domains", $"'{d}' is not a domain name");
        o.BareLineEndings = smtp.Enum<BareLineEndingPolicy>("bare_line_endings") ?? o.BareLineEndings;

        if (smtp.Node("listeners") is { } listenersNode)
        {
            o.Listeners = [];
            if (listenersNode is not ConfigList { Items.Count: > 0 } listeners)
                smtp.Error(listenersNode, "listeners", "must be a non-empty list of listeners");
            else
                for (var i = 0; i < listeners.Items.Count; i++)
                    if (smtp.SectionOf(listeners.Items[i], $"listeners[{i}]") is { } l)
                        o.Listeners.Add(BindListener(l, i, o.Listeners));
        }

        if (smtp.Section("limits") is { } limits)
        {
            limits.Known("max_message_size", "max_recipients", "max_connections", "max_connections_per_ip",
                "max_command_line", "max_text_line", "max_header_size", "max_errors", "min_data_rate", "min_data_rate_grace");
            var l = o.Limits;
            l.MaxMessageSize = limits.Size("max_message_size", 1024, 1L << 40) ?? l.MaxMessageSize;
            l.MaxRecipients = limits.Int("max_recipients", 1, 100_000) ?? l.MaxRecipients;
            l.MaxConnections = limits.Int("max_connections", 1, 1_000_000) ?? l.MaxConnections;
            l.MaxConnectionsPerIp = limits.Int("max_connections_per_ip", 1, 1_000_000) ?? l.MaxConnectionsPerIp;
            l.MaxCommandLine = (int)(limits.Size("max_command_line", 512, 65536) ?? l.MaxCommandLine);
            l.MaxTextLine = (int)(limits.Size("max_text_line", 1000, 1 << 20) ?? l.MaxTextLine);
            l.MaxHeaderSize = (int)(limits.Size("max_header_size", 1024, 64L << 20) ?? l.MaxHeaderSize);
            l.MaxErrors = limits.Int("max_errors", 1, 1000) ?? l.MaxErrors;
            l.MinDataRate = limits.Size("min_data_rate", 0, 1L << 30) ?? l.MinDataRate;
            l.MinDataRateGrace = limits.Duration("min_data_rate_grace") ?? l.MinDataRateGrace;
        }

        if (smtp.Section("timeouts") is { } timeouts)
        {
            timeouts.Known("command", "data_block", "data_total", "tls_handshake");
            var t = o.Timeouts;
            t.Command = timeouts.Duration("command") ?? t.Command;
            t.DataBlock = timeouts.Duration("data_block") ?? t.DataBlock;
            t.DataTotal = timeouts.Duration("data_total") ?? t.DataTotal;
            t.TlsHandshake = timeouts.Duration("tls_handshake") ?? t.TlsHandshake;
        }
    }

    /// <param name="others">The listeners before this one: names and addresses must differ.</param>
    private static ListenerOptions BindListener(ConfigSection l, int index, List<ListenerOptions> others)
    {
        l.Known("name", "address", "role", "tls", "auth", "allow_plaintext_auth", "pipeline", "cut_through");
        var listener = new ListenerOptions { Name = l.String("name") ?? $"smtp{index}" };
        listener.Address = l.EndPoint("address") ?? listener.Address;
        listener.Role = l.Enum<ListenerRole>("role") ?? listener.Role;
        listener.Tls = l.Enum<TlsMode>("tls") ?? listener.Tls;
        listener.Auth = l.Enum<AuthMode>("auth") ?? (listener.Role == ListenerRole.Submission ? AuthMode.Required : AuthMode.None);
        listener.AllowPlaintextAuth = l.Bool("allow_plaintext_auth") ?? false;
        listener.Pipeline = l.String("pipeline");
        listener.CutThrough = CutThroughConfigBinder.Bind(l);
        if (listener.Role == ListenerRole.Submission && listener.Auth != AuthMode.Required)
            l.ErrorAtSection("auth", "a submission listener relays anywhere, so it must have auth: required");
        if (listener.Auth != AuthMode.None && listener.Tls == TlsMode.None && !listener.AllowPlaintextAuth)
            l.ErrorAtSection("tls", "AUTH is only offered over TLS: set tls to starttls or implicit, or allow_plaintext_auth: true");
        if (others.Any(x => x.Name == listener.Name))
            l.ErrorAtSection("name", $"'{listener.Name}' is used by another listener");
        if (listener.Address.Port != 0 && others.Any(x => x.Address.Equals(listener.Address))) // port 0: a fresh port each
            l.ErrorAtSection("address", $"{listener.Address} is used by another listener");
        return listener;
    }
}
