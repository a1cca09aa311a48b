namespace Hermod.Dns;

/// <summary>Resolves one name and type. Implementations return failures as <see cref="DnsStatus"/> values, never as exceptions
/// (cancellation by the caller excepted).</summary>
public interface IDnsResolver
{
    Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default);
}
