namespace Hermod.Core.Storage;

/// <summary>RFC 3461 NOTIFY; <see cref="Default"/> means the client sent none.</summary>
[Flags]
public enum DsnNotify
{
    Default = 0,
    Never = 1,
    Success = 2,
    Failure = 4,
    Delay = 8,
}
