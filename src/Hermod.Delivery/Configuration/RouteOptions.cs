namespace Hermod.Delivery.Configuration;

/// <summary>A static route (an entry of routes:): where mail for a domain, or for "*", goes instead of its MX hosts.</summary>
public sealed class RouteOptions
{
    /// <summary>A domain (lower case) or "*".</summary>
    public string Domain { get; set; } = "*";
    public string Host { get; set; } = "";
    public int? Port { get; set; }
    public OutboundTls? Tls { get; set; }
    public string? User { get; set; }
    public string? Password { get; set; }
    /// <summary>false: mail on this route is never delivered cut-through (always store and forward).</summary>
    public bool CutThrough { get; set; } = true;
}
