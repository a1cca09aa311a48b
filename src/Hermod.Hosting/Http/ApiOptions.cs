namespace Hermod.Hosting.Http;

/// <summary>Limits of the native HTTP API (/v1).</summary>
public sealed class ApiOptions
{
    public long MaxRequestSize { get; set; } = 30L << 20;
    public int MaxRecipients { get; set; } = 1000;
    public long MaxAttachmentSize { get; set; } = 20L << 20;
}
