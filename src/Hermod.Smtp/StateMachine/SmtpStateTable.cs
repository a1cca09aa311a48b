using Hermod.Core.Smtp;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.StateMachine;

/// <summary>
/// Which command may come in which state, and the state it leaves the session in once it has done its work; anything
/// else is refused with a "bad sequence" reply from here. A message's end (<see cref="AfterMessage"/>) is the one
/// move no command makes by itself.
/// </summary>
public static class SmtpStateTable
{
    private static readonly SmtpState?[,] Cells = Build(); // [state, verb]: the state after the command; null: out of sequence

    private static SmtpState?[,] Build()
    {
        var cells = new SmtpState?[Enum.GetValues<SmtpState>().Length, Enum.GetValues<SmtpVerb>().Length];
        void Row(SmtpState state, params ReadOnlySpan<(SmtpVerb Verb, SmtpState Next)> commands)
        {
            foreach (var (verb, next) in commands)
                cells[(int)state, (int)verb] = next;
        }

        // Outside a BDAT sequence: NOOP, QUIT, HELP, VRFY and EXPN change nothing; a greeting, and RSET once greeted,
        // end any transaction (RFC 5321 4.1.4).
        foreach (var state in (ReadOnlySpan<SmtpState>)[SmtpState.Connected, SmtpState.Ready, SmtpState.MailGiven, SmtpState.RcptGiven])
            Row(state,
                (SmtpVerb.Noop, state), (SmtpVerb.Quit, state), (SmtpVerb.Help, state), (SmtpVerb.Vrfy, state), (SmtpVerb.Expn, state),
                (SmtpVerb.Helo, SmtpState.Ready), (SmtpVerb.Ehlo, SmtpState.Ready),
                (SmtpVerb.Rset, state == SmtpState.Connected ? SmtpState.Connected : SmtpState.Ready));
        Row(SmtpState.Ready,
            (SmtpVerb.Mail, SmtpState.MailGiven),
            (SmtpVerb.StartTls, SmtpState.Connected), // RFC 3207 4.2: the client greets again over TLS
            (SmtpVerb.Auth, SmtpState.Ready));
        Row(SmtpState.MailGiven,
            (SmtpVerb.Rcpt, SmtpState.RcptGiven));
        Row(SmtpState.RcptGiven,
            (SmtpVerb.Rcpt, SmtpState.RcptGiven),
            (SmtpVerb.Data, SmtpState.RcptGiven), // the content follows; its end is AfterMessage
            (SmtpVerb.Bdat, SmtpState.Bdat));
        Row(SmtpState.Bdat, // RFC 3030 3: only BDAT, RSET, NOOP and QUIT
            (SmtpVerb.Bdat, SmtpState.Bdat), // a chunk that is not the last; the last one's end is AfterMessage
            (SmtpVerb.Rset, SmtpState.Ready),
            (SmtpVerb.Noop, SmtpState.Bdat), (SmtpVerb.Quit, SmtpState.Bdat));
        return cells;
    }

    public static bool IsAllowed(SmtpState state, SmtpVerb verb) => Cells[(int)state, (int)verb] is not null;

    /// <summary>The state once <paramref name="verb"/>, allowed in <paramref name="state"/>, has done its work.</summary>
    public static SmtpState Next(SmtpState state, SmtpVerb verb) =>
        Cells[(int)state, (int)verb] ?? throw new InvalidOperationException($"{verb} is out of sequence in {state}.");

    /// <summary>
    /// The state once a message is answered, accepted or refused — at DATA's end of data, after the last BDAT chunk,
    /// or at a chunk past the size limit: the transaction is over.
    /// </summary>
    public static SmtpState AfterMessage(SmtpState state) => state is SmtpState.RcptGiven or SmtpState.Bdat
        ? SmtpState.Ready
        : throw new InvalidOperationException($"No message is under way in {state}.");

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
