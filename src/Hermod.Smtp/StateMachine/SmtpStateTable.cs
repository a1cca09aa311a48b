using Hermod.Core.Smtp;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.StateMachine;

/// <summary>Where a session stands between commands.</summary>
public enum SmtpState
{
    /// <summary>Greeting sent, no HELO/EHLO yet.</summary>
    Connected,
    /// <summary>Greeted; no mail transaction.</summary>
    Ready,
    /// <summary>MAIL accepted, no recipient yet.</summary>
    MailGiven,
    /// <summary>At least one recipient accepted.</summary>
    RcptGiven,
    /// <summary>Inside a BDAT sequence (a chunk without LAST was received).</summary>
    Bdat,
}

/// <summary>Which command may come in which state. Anything else is "503 bad sequence".</summary>
public static class SmtpStateTable
{
    private const SmtpVerb Any = SmtpVerb.Unknown;

    private static readonly Dictionary<SmtpState, HashSet<SmtpVerb>> Allowed = new()
    {
        [SmtpState.Connected] = [SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn],
        [SmtpState.Ready] = [SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn,
            SmtpVerb.Mail, SmtpVerb.StartTls, SmtpVerb.Auth],
        [SmtpState.MailGiven] = [SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn,
            SmtpVerb.Rcpt],
        [SmtpState.RcptGiven] = [SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn,
            SmtpVerb.Rcpt, SmtpVerb.Data, SmtpVerb.Bdat],
        [SmtpState.Bdat] = [SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Bdat],
    };

    public static bool IsAllowed(SmtpState state, SmtpVerb verb) => verb != Any && Allowed[state].Contains(verb);

    /// <summary>The reply for a command that is out of sequence in <paramref name="state"/>.</summary>
    public static SmtpReply Refusal(SmtpState state, SmtpVerb verb) => (state, verb) switch
    {
        (SmtpState.MailGiven, SmtpVerb.Data or SmtpVerb.Bdat) => SmtpReplies.NoValidRecipients,
        (SmtpState.Connected, _) => SmtpReplies.SendHelloFirst,
        (SmtpState.MailGiven or SmtpState.RcptGiven, SmtpVerb.Mail) => SmtpReplies.NestedMail,
        (SmtpState.Ready, SmtpVerb.Rcpt or SmtpVerb.Data or SmtpVerb.Bdat) => SmtpReplies.NeedMail,
        (SmtpState.Bdat, _) => SmtpReplies.OnlyBdatInSequence,
        _ => SmtpReplies.BadSequence,
    };
}
