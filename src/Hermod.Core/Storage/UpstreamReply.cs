using Hermod.Core.Smtp;

namespace Hermod.Core.Storage;

/// <summary>
/// What the next hop said, and the host that said it (null when none was reached, or for a local target). A reply
/// with code 0 is no reply at all (connection failure, DNS, a local refusal before sending): its enhanced status
/// code and text say why.
/// </summary>
public sealed record UpstreamReply(string? RemoteHost, SmtpReply Reply)
{
    /// <summary>No reply came: <paramref name="status"/> and <paramref name="text"/> say why (stored with code 0).</summary>
    public static UpstreamReply NoReply(string? remoteHost, EnhancedStatusCode status, string text) => new(remoteHost, new SmtpReply(0, status, text));

    /// <summary>False when no reply came (<see cref="NoReply"/>).</summary>
    public bool Answered => Reply.Code != 0;

    public override string ToString() => Answered ? Reply.ToString() : Reply.Text;
}
