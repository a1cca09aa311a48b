namespace Hermod.Core.Storage;

/// <summary>A header block that replaces the first <see cref="ReceivedLength"/> bytes of a body (the block as received); bytes as they go on the wire.</summary>
public sealed record ReplacedHeader(byte[] Block, long ReceivedLength);
