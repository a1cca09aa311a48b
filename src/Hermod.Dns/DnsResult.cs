namespace Hermod.Dns;

/// <summary>A typed result of the <see cref="DnsResolverExtensions"/> helpers.</summary>
public sealed record DnsResult<T>(DnsStatus Status, IReadOnlyList<T> Records, bool Authenticated);
