using Hermod.Core.Storage;

namespace Hermod.Delivery.Targets;

/// <summary>
/// One message on its way to a target: the stored message, the destination domain of the job (the recipients'
/// domain), and a way to write the stored content (trace headers, header block, body) byte-exact.
/// <see cref="Interactive"/>: a client is waiting (cut-through) — the message is still arriving (its size may be
/// unknown: 0, its deliveries empty), and each recipient must be put to the next hop as it is added, so that its
/// answer is the next hop's; the content can be written only once the body is complete.
/// </summary>
public sealed record TargetMessage(StoredMessage Message, string Domain, Func<Stream, CancellationToken, Task> WriteContentAsync, bool Interactive = false);
