namespace Hermod.Core.Pipeline;

/// <summary>
/// The content of a cut-through transaction while it arrives, for the next hops that take it as it streams in. The
/// next hops end their data only once <see cref="ICutThroughTransaction.DataAsync"/> is called — the content is
/// then complete and accepted; until then it can still be refused, and <see cref="Fail"/> (or disposing the
/// transaction) cuts their transactions off before their end of data: nothing is delivered.
/// </summary>
public interface ICutThroughContent
{
    /// <summary>The next bytes of the content (copied).</summary>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>Hands what was written on; waits while a next hop is far behind (bounded memory). A next hop that gave up is left out from then on.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>The content is refused or abandoned: the next hops' transactions end without their end of data. Idempotent; nothing once DataAsync was called.</summary>
    void Fail();
}
