namespace Hermod.Core.Storage;

/// <summary>RFC 3461 RET.</summary>
public enum DsnReturn { Default, Full, Headers }
