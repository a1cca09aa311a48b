namespace Hermod.Core.Storage;

/// <summary>Held: nowhere to deliver yet; not retried on a schedule, never expires.</summary>
public enum AttemptStatus { Delivered, Deferred, Failed, Held }
