namespace Hermod.Hosting.Http;

/// <summary>The Mini-MailGun compatible API (POST /send, POST /status).</summary>
public sealed class MiniMailgunOptions
{
    /// <summary>The client ids allowed to send; empty: the API answers 401 to everyone.</summary>
    public List<string> Clients { get; set; } = [];
}
