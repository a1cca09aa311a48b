using System.Net;

namespace Hermod.Core.Pipeline;

/// <summary>What stream processors know about the message whose body passes through them.</summary>
public sealed record BodyContext(
    string MessageId,
    string Hostname,
    string Helo,
    IPAddress ClientAddress,
    string Protocol,
    string? TlsDetails,
    IReadOnlyList<string> Recipients,
    DateTimeOffset Received);
