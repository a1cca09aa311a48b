using Hermod.Core.Smtp;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.StateMachine;

namespace Hermod.Smtp.Tests.StateMachine;

public sealed class SmtpStateTableTests
{
    private static readonly SmtpVerb[] Anytime =
        [SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn];

    /// <summary>The state table as RFC 5321 3.3 / 4.1.4, RFC 3030, RFC 3207 and RFC 4954 describe it.</summary>
    public static TheoryData<SmtpState, SmtpVerb[]> Rows => new()
    {
        { SmtpState.Connected, Anytime },
        { SmtpState.Ready, [.. Anytime, SmtpVerb.Mail, SmtpVerb.StartTls, SmtpVerb.Auth] },
        { SmtpState.MailGiven, [.. Anytime, SmtpVerb.Rcpt] },
        { SmtpState.RcptGiven, [.. Anytime, SmtpVerb.Rcpt, SmtpVerb.Data, SmtpVerb.Bdat] },
        { SmtpState.Bdat, [SmtpVerb.Noop, SmtpVerb.Rset, SmtpVerb.Quit, SmtpVerb.Bdat] },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_state_allows_exactly_its_row(SmtpState state, SmtpVerb[] expected)
    {
        var allowed = Enum.GetValues<SmtpVerb>().Where(verb => SmtpStateTable.IsAllowed(state, verb));

        Assert.Equal(expected.Order(), allowed.Order());
    }

    [Fact]
    public void Every_state_has_a_row()
    {
        var covered = Rows.Select(row => (SmtpState)row[0]);

        Assert.Equal(Enum.GetValues<SmtpState>(), covered.Order());
    }

    [Theory]
    [InlineData(SmtpState.Connected)]
    [InlineData(SmtpState.Ready)]
    [InlineData(SmtpState.MailGiven)]
    [InlineData(SmtpState.RcptGiven)]
    [InlineData(SmtpState.Bdat)]
    public void An_unknown_verb_is_never_allowed(SmtpState state) =>
        Assert.False(SmtpStateTable.IsAllowed(state, SmtpVerb.Unknown));

    [Theory]
    [InlineData(SmtpState.Connected, SmtpVerb.Mail)]
    [InlineData(SmtpState.Connected, SmtpVerb.Rcpt)]
    [InlineData(SmtpState.Connected, SmtpVerb.Data)]
    [InlineData(SmtpState.Connected, SmtpVerb.Bdat)]
    [InlineData(SmtpState.Connected, SmtpVerb.StartTls)]
    [InlineData(SmtpState.Connected, SmtpVerb.Auth)]
    public void Before_hello_the_refusal_asks_for_hello(SmtpState state, SmtpVerb verb) =>
        Assert.Equal(new SmtpReply(503, new(5, 5, 1), "Send HELO/EHLO first"), SmtpStateTable.Refusal(state, verb));

    [Theory]
    [InlineData(SmtpVerb.Rcpt)]
    [InlineData(SmtpVerb.Data)]
    [InlineData(SmtpVerb.Bdat)]
    public void Without_a_transaction_the_refusal_asks_for_mail(SmtpVerb verb) =>
        Assert.Equal(new SmtpReply(503, new(5, 5, 1), "Need MAIL command first"), SmtpStateTable.Refusal(SmtpState.Ready, verb));

    [Theory]
    [InlineData(SmtpState.MailGiven)]
    [InlineData(SmtpState.RcptGiven)]
    public void Mail_inside_a_transaction_is_refused_as_nested(SmtpState state) =>
        Assert.Equal(new SmtpReply(503, new(5, 5, 1), "Nested MAIL command"), SmtpStateTable.Refusal(state, SmtpVerb.Mail));

    [Theory]
    [InlineData(SmtpVerb.Data)]
    [InlineData(SmtpVerb.Bdat)]
    public void Content_without_an_accepted_recipient_is_refused_with_554(SmtpVerb verb)
    {
        var refusal = SmtpStateTable.Refusal(SmtpState.MailGiven, verb);

        Assert.Equal(new SmtpReply(554, new(5, 5, 1), "No valid recipients"), refusal);
        Assert.Same(SmtpReplies.NoValidRecipients, refusal);
    }

    [Theory]
    [InlineData(SmtpState.MailGiven, SmtpVerb.StartTls)]
    [InlineData(SmtpState.MailGiven, SmtpVerb.Auth)]
    [InlineData(SmtpState.RcptGiven, SmtpVerb.StartTls)]
    [InlineData(SmtpState.RcptGiven, SmtpVerb.Auth)]
    public void Tls_and_auth_inside_a_transaction_are_a_bad_sequence(SmtpState state, SmtpVerb verb) =>
        Assert.Equal(new SmtpReply(503, new(5, 5, 1), "Bad sequence of commands"), SmtpStateTable.Refusal(state, verb));

    [Theory]
    [InlineData(SmtpVerb.Helo)]
    [InlineData(SmtpVerb.Ehlo)]
    [InlineData(SmtpVerb.Mail)]
    [InlineData(SmtpVerb.Rcpt)]
    [InlineData(SmtpVerb.Data)]
    [InlineData(SmtpVerb.Vrfy)]
    [InlineData(SmtpVerb.Expn)]
    [InlineData(SmtpVerb.Help)]
    [InlineData(SmtpVerb.StartTls)]
    [InlineData(SmtpVerb.Auth)]
    public void Inside_a_bdat_sequence_only_bdat_rset_noop_and_quit_are_accepted(SmtpVerb verb) =>
        Assert.Equal(new SmtpReply(503, new(5, 5, 1), "Only BDAT, RSET, NOOP or QUIT inside a BDAT sequence"), SmtpStateTable.Refusal(SmtpState.Bdat, verb));

    [Fact]
    public void Every_refused_command_gets_a_permanent_5_5_1_reply()
    {
        foreach (var state in Enum.GetValues<SmtpState>())
            foreach (var verb in Enum.GetValues<SmtpVerb>())
            {
                if (verb == SmtpVerb.Unknown || SmtpStateTable.IsAllowed(state, verb))
                    continue;
                var refusal = SmtpStateTable.Refusal(state, verb);
                Assert.True(refusal.Code is 503 or 554, $"{refusal.Code}");
                Assert.Equal("5.5.1", refusal.Enhanced.ToString());
                Assert.False(refusal.IsPositive);
            }
    }

    /// <summary>Where each allowed command leaves the session once it has done its work.</summary>
    public static TheoryData<SmtpState, SmtpVerb, SmtpState> Transitions
    {
        get
        {
            var data = new TheoryData<SmtpState, SmtpVerb, SmtpState>();
            foreach (var state in new[] { SmtpState.Connected, SmtpState.Ready, SmtpState.MailGiven, SmtpState.RcptGiven })
            {
                foreach (var verb in new[] { SmtpVerb.Noop, SmtpVerb.Quit, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn })
                    data.Add(state, verb, state);
                data.Add(state, SmtpVerb.Helo, SmtpState.Ready);
                data.Add(state, SmtpVerb.Ehlo, SmtpState.Ready);
                data.Add(state, SmtpVerb.Rset, state == SmtpState.Connected ? SmtpState.Connected : SmtpState.Ready);
            }
            data.Add(SmtpState.Ready, SmtpVerb.Mail, SmtpState.MailGiven);
            data.Add(SmtpState.Ready, SmtpVerb.StartTls, SmtpState.Connected);
            data.Add(SmtpState.Ready, SmtpVerb.Auth, SmtpState.Ready);
            data.Add(SmtpState.MailGiven, SmtpVerb.Rcpt, SmtpState.RcptGiven);
            data.Add(SmtpState.RcptGiven, SmtpVerb.Rcpt, SmtpState.RcptGiven);
            data.Add(SmtpState.RcptGiven, SmtpVerb.Data, SmtpState.RcptGiven);
            data.Add(SmtpState.RcptGiven, SmtpVerb.Bdat, SmtpState.Bdat);
            data.Add(SmtpState.Bdat, SmtpVerb.Bdat, SmtpState.Bdat);
            data.Add(SmtpState.Bdat, SmtpVerb.Rset, SmtpState.Ready);
            data.Add(SmtpState.Bdat, SmtpVerb.Noop, SmtpState.Bdat);
            data.Add(SmtpState.Bdat, SmtpVerb.Quit, SmtpState.Bdat);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Transitions))]
    public void An_allowed_command_moves_to_the_state_its_row_gives(SmtpState state, SmtpVerb verb, SmtpState next) =>
        Assert.Equal(next, SmtpStateTable.Next(state, verb));

    [Fact]
    public void Every_allowed_command_has_a_transition_and_no_other()
    {
        var listed = Transitions.Select(row => ((SmtpState)row[0], (SmtpVerb)row[1])).ToHashSet();

        foreach (var state in Enum.GetValues<SmtpState>())
            foreach (var verb in Enum.GetValues<SmtpVerb>())
            {
                Assert.Equal(SmtpStateTable.IsAllowed(state, verb), listed.Contains((state, verb)));
                if (!SmtpStateTable.IsAllowed(state, verb))
                    Assert.Throws<InvalidOperationException>(() => SmtpStateTable.Next(state, verb));
            }
    }

    [Theory]
    [InlineData(SmtpState.RcptGiven)] // DATA's end of data
    [InlineData(SmtpState.Bdat)] // the last chunk, or a chunk past the size limit
    public void A_message_answered_ends_the_transaction(SmtpState state) =>
        Assert.Equal(SmtpState.Ready, SmtpStateTable.AfterMessage(state));

    [Theory]
    [InlineData(SmtpState.Connected)]
    [InlineData(SmtpState.Ready)]
    [InlineData(SmtpState.MailGiven)]
    public void No_message_ends_where_none_began(SmtpState state) =>
        Assert.Throws<InvalidOperationException>(() => SmtpStateTable.AfterMessage(state));
}
