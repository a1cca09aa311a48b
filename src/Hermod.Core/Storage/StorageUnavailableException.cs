namespace Hermod.Core.Storage;

/// <summary>
/// The store cannot reach its database for now (refused, broken or timed-out connections, a server shutting down or
/// starting up): the operation was not done and may be tried again later, with no restart. A provider throws it
/// instead of its driver's own exceptions, so that the host answers without knowing the provider: SMTP with
/// <c>451 4.3.0</c> (the client keeps the message), HTTP with <c>503</c> and <c>Retry-After</c>. Errors of the
/// database itself (a constraint, a bad statement) are not this.
/// </summary>
public sealed class StorageUnavailableException(string message, Exception innerException) : Exception(message, innerException);
