using System.Net;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Queue;

namespace Hermod.Delivery.Tests.Queue;

public sealed class RetryAndOutcomeTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetryOptions Retry = new() { Min = TimeSpan.FromMinutes(1), Max = TimeSpan.FromHours(1), Factor = 2, MaxAge = TimeSpan.FromDays(5) };

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(6, 32)]
    [InlineData(7, 60)] // capped at max
    [InlineData(30, 60)]
    public void Backoff_doubles_from_min_up_to_max(int attempts, int minutes)
    {
        var now = Created.AddMinutes(10);
        Assert.Equal(now.AddMinutes(minutes), RetrySchedule.Next(Retry, attempts, now, Created, jitter: 0.5));
    }

    [Fact]
    public void Jitter_spreads_retries_by_ten_percent_either_way()
    {
        var now = Created.AddMinutes(10);
        Assert.Equal(now.AddMinutes(4 * 0.9), RetrySchedule.Next(Retry, 3, now, Created, jitter: 0));
        Assert.Equal(now.AddMinutes(4 * 1.1), RetrySchedule.Next(Retry, 3, now, Created, jitter: 1));
    }

    [Fact]
    public void The_last_retry_falls_at_the_maximum_age_and_none_after()
    {
        var nearEnd = Created + Retry.MaxAge - TimeSpan.FromMinutes(10);
        Assert.Equal(Created + Retry.MaxAge, RetrySchedule.Next(Retry, 20, nearEnd, Created, 0.5));
        Assert.Null(RetrySchedule.Next(Retry, 21, Created + Retry.MaxAge, Created, 0.5));
    }

    private static StoredMessage Message(string sender = "sender@remote.test") => new(
        new MessageEnvelope("ID", sender, [], new MessageSource("mx", IPAddress.Loopback, "h", null, null)),
        100, Created, []);

    private static QueuedRecipient Recipient(DsnNotify notify = DsnNotify.Default, int attempts = 0, bool warned = false) =>
        new(7, "rcpt@dest.test", notify, null, attempts, warned);

    private static readonly DeliveryOptions Options = new() { Retry = Retry, DelayWarning = TimeSpan.FromHours(4) };

    private static RecipientOutcome Outcome(UpstreamReply reply, QueuedRecipient? recipient = null, StoredMessage? message = null,
        DateTimeOffset? now = null, bool dsnSupported = true) =>
        Outcomes.For(recipient ?? Recipient(), reply, message ?? Message(), dsnSupported, Options, now ?? Created.AddMinutes(1), 0.5);

    private static readonly UpstreamReply Ok = new("mx.dest.test", new SmtpReply(250, new(2, 0, 0), "ok"));
    private static readonly UpstreamReply Temp = new("mx.dest.test", new SmtpReply(451, new(4, 3, 0), "try later"));
    private static readonly UpstreamReply Perm = new("mx.dest.test", new SmtpReply(550, new(5, 1, 1), "no such user"));

    [Fact]
    public void A_250_is_delivered_a_5xx_failed_at_once_a_4xx_deferred()
    {
        Assert.Equal(AttemptStatus.Delivered, Outcome(Ok).Status);
        var failed = Outcome(Perm);
        Assert.Equal(AttemptStatus.Failed, failed.Status);
        Assert.Equal(DsnKind.Failure, failed.Dsn);
        var deferred = Outcome(Temp);
        Assert.Equal(AttemptStatus.Deferred, deferred.Status);
        Assert.Equal(Created.AddMinutes(2), deferred.NextAttempt);
        Assert.Equal(DsnKind.None, deferred.Dsn);
    }

    [Fact]
    public void Local_failures_without_a_reply_go_by_their_enhanced_status()
    {
        Assert.Equal(AttemptStatus.Failed, Outcome(UpstreamReply.NoReply(null, new(5, 1, 10), "null MX")).Status);
        Assert.Equal(AttemptStatus.Deferred, Outcome(UpstreamReply.NoReply(null, new(4, 4, 1), "connection refused")).Status);
    }

    [Fact]
    public void Past_the_maximum_age_a_temporary_failure_becomes_final()
    {
        var outcome = Outcome(Temp, now: Created + Retry.MaxAge);
        Assert.Equal(AttemptStatus.Failed, outcome.Status);
        Assert.Equal(DsnKind.Failure, outcome.Dsn);
        Assert.Contains("gave up", outcome.Reply.Reply.Text);
    }

    [Fact]
    public void A_temporary_failure_at_the_last_allowed_attempt_is_final()
    {
        var limited = new DeliveryOptions { Retry = Retry, DelayWarning = TimeSpan.FromHours(4), MaxAttempts = 3 };
        RecipientOutcome At(int attemptsBefore, UpstreamReply reply) =>
            Outcomes.For(Recipient(attempts: attemptsBefore), reply, Message(), true, limited, Created.AddMinutes(1), 0.5);

        Assert.Equal(AttemptStatus.Deferred, At(0, Temp).Status);
        Assert.Equal(AttemptStatus.Deferred, At(1, Temp).Status);
        var last = At(2, Temp); // the third attempt
        Assert.Equal(AttemptStatus.Failed, last.Status);
        Assert.Null(last.NextAttempt);
        Assert.Equal(DsnKind.Failure, last.Dsn);
        Assert.Equal(451, last.Reply.Reply.Code);
        Assert.Equal("try later (gave up after 3 attempts)", last.Reply.Reply.Text);
        Assert.Equal(AttemptStatus.Delivered, At(2, Ok).Status);
        Assert.Equal("no such user", At(0, Perm).Reply.Reply.Text); // a permanent failure says nothing about attempts

        // 0, the default, is no limit: only the maximum age ends the retries
        Assert.Equal(AttemptStatus.Deferred, Outcome(Temp, Recipient(attempts: 500)).Status);
    }

    [Fact]
    public void A_delay_warning_is_owed_once_after_the_delay_warning_time()
    {
        var later = Created.AddHours(5);
        Assert.Equal(DsnKind.None, Outcome(Temp, now: Created.AddHours(3)).Dsn);
        Assert.Equal(DsnKind.Delay, Outcome(Temp, now: later).Dsn);
        Assert.Equal(DsnKind.None, Outcome(Temp, Recipient(warned: true), now: later).Dsn);
    }

    [Theory]
    [InlineData(DsnNotify.Never, DsnKind.None, DsnKind.None, DsnKind.None)]
    [InlineData(DsnNotify.Failure, DsnKind.Failure, DsnKind.None, DsnKind.None)]
    [InlineData(DsnNotify.Delay, DsnKind.None, DsnKind.Delay, DsnKind.None)]
    [InlineData(DsnNotify.Success, DsnKind.None, DsnKind.None, DsnKind.Relayed)]
    [InlineData(DsnNotify.Default, DsnKind.Failure, DsnKind.Delay, DsnKind.None)]
    public void Notify_decides_which_dsns_are_owed(DsnNotify notify, DsnKind onFailure, DsnKind onDelay, DsnKind onSuccessWithoutRemoteDsn)
    {
        var r = Recipient(notify);
        Assert.Equal(onFailure, Outcome(Perm, r).Dsn);
        Assert.Equal(onDelay, Outcome(Temp, r, now: Created.AddHours(5)).Dsn);
        Assert.Equal(onSuccessWithoutRemoteDsn, Outcome(Ok, r, dsnSupported: false).Dsn);
        Assert.Equal(DsnKind.None, Outcome(Ok, r, dsnSupported: true).Dsn); // the next hop carries NOTIFY on
    }

    [Fact]
    public void Mail_from_the_null_sender_never_owes_a_dsn()
    {
        var bounce = Message(sender: "");
        Assert.Equal(DsnKind.None, Outcome(Perm, message: bounce).Dsn);
        Assert.Equal(DsnKind.None, Outcome(Temp, message: bounce, now: Created.AddHours(5)).Dsn);
    }
}
