namespace Hermod.Dns;

/// <summary>
/// The outcome of one query. <see cref="Records"/> holds the records of the asked type only (CNAMEs already
/// followed; each record keeps its own owner name). <see cref="Authenticated"/> is the AD bit of the response:
/// trust it only when the resolver is on a trusted path (localhost).
/// </summary>
public sealed record DnsAnswer(DnsStatus Status, IReadOnlyList<DnsRecord> Records, bool Authenticated)
{
    /// <summary>The records of one kind.</summary>
    public IEnumerable<T> Of<T>() where T : DnsRecord => Records.OfType<T>();

    internal static DnsAnswer Failure(DnsStatus status) => new(status, [], false);
}
