namespace Hermod.Hosting.Http.V1;

public sealed record RecipientView(string Id, string Address, string State, int Attempts, DateTimeOffset? NextAttempt, string? LastReply);

public sealed record AttemptItem(string RecipientId, DateTimeOffset Started, DateTimeOffset? Ended, string? RemoteHost, int? Code, string? EnhancedCode, string? Text);

public sealed record MessageView(string Id, string From, long Size, DateTimeOffset Created, IReadOnlyList<string>? Tags,
    IReadOnlyDictionary<string, string>? Metadata, IReadOnlyList<RecipientView> Recipients,
    IReadOnlyList<AttemptItem> Attempts, IReadOnlyList<EventItem> Events);
