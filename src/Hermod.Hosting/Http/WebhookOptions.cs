namespace Hermod.Hosting.Http;

/// <summary>A receiver of delivery events: each is POSTed as JSON with an HMAC-SHA256 signature made with <see cref="Secret"/>.</summary>
public sealed class WebhookOptions
{
    public Uri Url { get; set; } = new("http://127.0.0.1/");
    public string Secret { get; set; } = "";
    /// <summary>Only events of this tenant; null: all events.</summary>
    public string? Tenant { get; set; }
}
