using System.Net;
using Hermod.Core.Configuration;

namespace Hermod.Smtp.Configuration;

/// <summary>What a listener is for: ingress (mail to the local domains, from anyone) or submission (authenticated users, to anywhere).</summary>
public enum ListenerRole { Ingress, Submission }

/// <summary>TLS on a listener: none, offered with STARTTLS, or from the first byte.</summary>
public enum TlsMode { None, StartTls, Implicit }

/// <summary>Whether a listener offers AUTH, and whether it requires it.</summary>
public enum AuthMode { None, Optional, Required }

/// <summary>One SMTP listener (an item of smtp.listeners).</summary>
public sealed class ListenerOptions
{
    public string Name { get; set; } = "mx";
    public IPEndPoint Address { get; set; } = new(IPAddress.Loopback, 2525);
    public ListenerRole Role { get; set; } = ListenerRole.Ingress;
    public TlsMode Tls { get; set; } = TlsMode.StartTls;
    public AuthMode Auth { get; set; } = AuthMode.None;
    /// <summary>Allow AUTH before TLS on this listener (off by default).</summary>
    public bool AllowPlaintextAuth { get; set; }
    /// <summary>The policy pipeline (a name in pipelines:); null: deliver everything accepted to "remote".</summary>
    public string? Pipeline { get; set; }
    public CutThroughOptions CutThrough { get; set; } = new();
}
