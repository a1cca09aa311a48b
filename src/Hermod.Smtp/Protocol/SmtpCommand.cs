namespace Hermod.Smtp.Protocol;

public enum SmtpVerb { Unknown, Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth }

/// <summary>A command line split into verb and argument (the text after the verb and one space, UTF-8 decoded).</summary>
public readonly record struct SmtpCommand(SmtpVerb Verb, string Argument);
