namespace Hermod.Smtp.Protocol;

/// <summary>What the server does with a bare CR or LF in message data: refuses the message, or turns it into CRLF.</summary>
public enum BareLineEndingPolicy { Reject, Normalize }
