namespace Hermod.Core.Storage;

/// <summary>What the HTTP API stores beside the queue: API keys, idempotent responses, history.</summary>
public interface IApiStore
{
    /// <summary>Makes a key for <paramref name="tenant"/>; only its hash is stored. The key is returned once.</summary>
    Task<string> CreateApiKeyAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>The tenant of a key, or null for an unknown or malformed key.</summary>
    Task<string?> AuthenticateAsync(string key, CancellationToken cancellationToken);

    Task<IdempotentResponse?> FindIdempotentAsync(string tenant, string key, CancellationToken cancellationToken);

    /// <summary>Accepts the message and keeps the response for its Idempotency-Key in one commit.</summary>
    Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, IdempotentResponse? idempotent, CancellationToken cancellationToken,
        ReplacedHeader? header = null, CutThroughAttempt? cutThrough = null);

    Task<IReadOnlyList<AttemptView>> AttemptsAsync(string messageId, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeliveryEvent>> EventsAsync(string? messageId, string? tenant, long after, int limit, CancellationToken cancellationToken);

    /// <summary>Set whenever events were written (for webhooks: no polling while nothing happens).</summary>
    QueueSignal EventsWritten { get; }

    Task<long> WebhookCursorAsync(string url, CancellationToken cancellationToken);

    Task SaveWebhookCursorAsync(string url, long lastEvent, CancellationToken cancellationToken);
}
