namespace Hermod.Core.Storage;

/// <summary>Which delivery status notification a recipient now owes its sender.</summary>
public enum DsnKind { None, Failure, Delay, Relayed }
