using System.Net;
using Hermod.Core.Configuration;

namespace Hermod.Hosting.Http;

/// <summary>The HTTP side, as http:, api:, mini_mailgun: and webhooks: configure it.</summary>
public sealed class HttpOptions
{
    public IPEndPoint Address { get; set; } = new(IPAddress.Loopback, 8025);

    /// <summary>The policy pipeline of HTTP submission (both APIs); null: deliver everything accepted to "remote".</summary>
    public string? Pipeline { get; set; }

    public CutThroughOptions CutThrough { get; set; } = new();

    public ApiOptions Api { get; set; } = new();

    public MiniMailgunOptions MiniMailgun { get; set; } = new();

    /// <summary>URLs that receive every delivery event as signed JSON.</summary>
    public List<WebhookOptions> Webhooks { get; set; } = [];
}
