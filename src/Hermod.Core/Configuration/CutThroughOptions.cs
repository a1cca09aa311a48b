namespace Hermod.Core.Configuration;

/// <summary>
/// Cut-through (docs/cut-through.md), of an SMTP listener or of HTTP submission: while the client waits, Hermod tries
/// the next hop and hands its answer back; how long it waits for the upstream answer to RCPT and to the end of the
/// data. Off: pure store and forward.
/// </summary>
public sealed class CutThroughOptions
{
    public bool Enabled { get; set; } = true;
    public TimeSpan RcptTimeout { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
