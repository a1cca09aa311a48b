using System.Diagnostics.Metrics;
using Hermod.Core.Diagnostics;

namespace Hermod.Core.Tests.Diagnostics;

/// <summary>The <c>reason</c> tag of <c>hermod.smtp.rejections</c>: one value per <see cref="RejectReason"/>, exactly as docs/metrics.md lists it.</summary>
public sealed class RejectReasonTests
{
    public static TheoryData<RejectReason, string> Tags => new()
    {
        { RejectReason.Syntax, "syntax" },
        { RejectReason.UnknownCommand, "unknown_command" },
        { RejectReason.BadSequence, "bad_sequence" },
        { RejectReason.LineTooLong, "line_too_long" },
        { RejectReason.RelayDenied, "relay_denied" },
        { RejectReason.AuthRequired, "auth_required" },
        { RejectReason.AuthWithoutTls, "auth_without_tls" },
        { RejectReason.Auth, "auth" },
        { RejectReason.AuthFailed, "auth_failed" },
        { RejectReason.BadSender, "bad_sender" },
        { RejectReason.BadRecipient, "bad_recipient" },
        { RejectReason.SmtpUtf8, "smtputf8" },
        { RejectReason.StartTls, "starttls" },
        { RejectReason.Size, "size" },
        { RejectReason.TooManyRecipients, "too_many_recipients" },
        { RejectReason.BareLineEnding, "bare_line_ending" },
        { RejectReason.HeaderTooLarge, "header_too_large" },
        { RejectReason.Timeout, "timeout" },
        { RejectReason.DataRate, "data_rate" },
        { RejectReason.Storage, "storage" },
        { RejectReason.Policy, "policy" },
        { RejectReason.Upstream, "upstream" },
    };

    [Fact]
    public void Every_reason_has_its_tag() => Assert.Equal(Enum.GetValues<RejectReason>().Length, Tags.Count);

    [Theory]
    [MemberData(nameof(Tags))]
    public void A_rejection_is_counted_with_the_listener_and_the_reason_as_documented(RejectReason reason, string tag)
    {
        using var metrics = new HermodMetrics();
        var seen = new List<(long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, metrics.Rejections))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => seen.Add((value, new Dictionary<string, object?>(tags.ToArray()))));
        listener.Start();

        metrics.Reject("mx", reason);

        var (count, tags) = Assert.Single(seen);
        Assert.Equal(1, count);
        Assert.Equal(new Dictionary<string, object?> { ["listener"] = "mx", ["reason"] = tag }, tags);
        Assert.Same(HermodMetrics.Tag(reason), HermodMetrics.Tag(reason)); // one string per reason, not one per count
    }
}
