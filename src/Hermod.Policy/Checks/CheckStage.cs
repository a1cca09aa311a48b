namespace Hermod.Policy.Checks;

/// <summary>When in a transaction a check runs.</summary>
public enum CheckStage { Connection, Mail, Rcpt, Body }
