using Hermod.Core.Configuration;

namespace Hermod.Hosting.Http;

/// <summary>Reads http:, mini_mailgun:, api: and webhooks: into <see cref="HttpOptions"/>; problems go to the section's errors.</summary>
public static class HttpConfigBinder
{
    /// <param name="root">The whole configuration.</param>
    public static HttpOptions Bind(ConfigSection root)
    {
        var o = new HttpOptions();
        if (root.Section("http") is { } http)
        {
            http.Known("address", "pipeline", "cut_through");
            o.Address = http.EndPoint("address") ?? o.Address;
            o.Pipeline = http.String("pipeline");
            o.CutThrough = CutThroughConfigBinder.Bind(http);
        }

        if (root.Section("mini_mailgun") is { } miniMailgun)
        {
            miniMailgun.Known("clients");
            o.MiniMailgun.Clients = miniMailgun.Strings("clients") ?? o.MiniMailgun.Clients;
            if (o.MiniMailgun.Clients.Any(c => c.Length == 0))
                miniMailgun.ErrorAtSection("clients", "a client id may not be empty");
        }

        if (root.Section("api") is { } api)
        {
            api.Known("max_request_size", "max_recipients", "max_attachment_size");
            o.Api.MaxRequestSize = api.Size("max_request_size", 1024, 1L << 32) ?? o.Api.MaxRequestSize;
            o.Api.MaxRecipients = api.Int("max_recipients", 1, 100_000) ?? o.Api.MaxRecipients;
            o.Api.MaxAttachmentSize = api.Size("max_attachment_size", 1, 1L << 32) ?? o.Api.MaxAttachmentSize;
        }

        if (root.Node("webhooks") is { } webhooksNode)
        {
            if (webhooksNode is not ConfigList webhooks)
                root.Error(webhooksNode, "webhooks", "must be a list of { url, secret, tenant }");
            else
                for (var i = 0; i < webhooks.Items.Count; i++)
                    if (root.SectionOf(webhooks.Items[i], $"webhooks[{i}]") is { } w)
                        o.Webhooks.Add(BindWebhook(w));
        }
        return o;
    }

    private static WebhookOptions BindWebhook(ConfigSection w)
    {
        w.Known("url", "secret", "tenant");
        var url = w.String("url");
        var hook = new WebhookOptions { Secret = w.String("secret") ?? "", Tenant = w.String("tenant") };
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            hook.Url = uri;
        else
            w.ErrorAtSection("url", $"'{url}' is not an http:// or https:// URL");
        if (hook.Secret.Length < 16)
            w.ErrorAtSection("secret", "is required, at least 16 characters (it signs each request)");
        return hook;
    }
}
