using System.Net;

namespace Hermod.Policy.Spf;

/// <summary>The values the macro letters of RFC 7208 section 7.3 stand for. <see cref="ValidatedDomain"/> (%{p}) is looked up by the caller.</summary>
public sealed class SpfMacroContext
{
    public required string Sender { get; init; }
    public required string Domain { get; init; }
    public required IPAddress Ip { get; init; }
    public string Helo { get; init; } = "";
    public string ValidatedDomain { get; set; } = "unknown";
    public string ReceiverDomain { get; init; } = "unknown";
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>The local-part of <see cref="Sender"/> (%{l}).</summary>
    public string LocalPart => Sender[..Math.Max(0, Sender.LastIndexOf('@'))];

    /// <summary>The domain of <see cref="Sender"/> (%{o}).</summary>
    public string SenderDomain => Sender[(Sender.LastIndexOf('@') + 1)..];
}
