namespace Hermod.Core.Storage;

/// <summary>RFC 6152 / 3030 BODY.</summary>
public enum BodyType { SevenBit, EightBitMime }
