using System.Diagnostics.Metrics;

namespace Hermod.Core.Diagnostics;

/// <summary>All instruments Hermod publishes (meter "Hermod"); names are documented in docs/metrics.md.</summary>
public sealed class HermodMetrics : IDisposable
{
    public const string MeterName = "Hermod";
    private readonly Meter _meter;

    public HermodMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Connections = _meter.CreateCounter<long>("hermod.smtp.connections", description: "SMTP connections accepted");
        ConnectionsRefused = _meter.CreateCounter<long>("hermod.smtp.connections.refused", description: "SMTP connections refused by connection limits");
        ActiveSessions = _meter.CreateUpDownCounter<long>("hermod.smtp.sessions.active", description: "SMTP sessions open now");
        MessagesAccepted = _meter.CreateCounter<long>("hermod.messages.accepted", description: "Messages made durable and acknowledged");
        BytesAccepted = _meter.CreateCounter<long>("hermod.messages.accepted.bytes", unit: "By", description: "Body bytes of accepted messages");
        Rejections = _meter.CreateCounter<long>("hermod.smtp.rejections", description: "Commands and messages refused, by reason");
        CommitBatchSize = _meter.CreateHistogram<long>("hermod.storage.commit.batch_size", description: "Writes carried by one group commit");
        CommitDuration = _meter.CreateHistogram<double>("hermod.storage.commit.duration", unit: "s", description: "Time of one group commit, fsync included");
        CommitRoundTrips = _meter.CreateHistogram<long>("hermod.storage.commit.round_trips", description: "Requests to the database server one group commit waited for (PostgreSQL)");
    }

    public Counter<long> Connections { get; }
    public Counter<long> ConnectionsRefused { get; }
    public UpDownCounter<long> ActiveSessions { get; }
    public Counter<long> MessagesAccepted { get; }
    public Counter<long> BytesAccepted { get; }
    public Counter<long> Rejections { get; }
    public Histogram<long> CommitBatchSize { get; }
    public Histogram<double> CommitDuration { get; }
    public Histogram<long> CommitRoundTrips { get; }

    public void Reject(string listener, RejectReason reason) =>
        Rejections.Add(1, new KeyValuePair<string, object?>("listener", listener), new KeyValuePair<string, object?>("reason", Tag(reason)));

    /// <summary>The tag value of a reason: literals, so counting a refusal allocates no string.</summary>
    internal static string Tag(RejectReason reason) => reason switch
    {
        RejectReason.Syntax => "syntax",
        RejectReason.UnknownCommand => "unknown_command",
        RejectReason.BadSequence => "bad_sequence",
        RejectReason.LineTooLong => "line_too_long",
        RejectReason.RelayDenied => "relay_denied",
        RejectReason.AuthRequired => "auth_required",
        RejectReason.AuthWithoutTls => "auth_without_tls",
        RejectReason.Auth => "auth",
        RejectReason.AuthFailed => "auth_failed",
        RejectReason.BadSender => "bad_sender",
        RejectReason.BadRecipient => "bad_recipient",
        RejectReason.SmtpUtf8 => "smtputf8",
        RejectReason.StartTls => "starttls",
        RejectReason.Size => "size",
        RejectReason.TooManyRecipients => "too_many_recipients",
        RejectReason.BareLineEnding => "bare_line_ending",
        RejectReason.HeaderTooLarge => "header_too_large",
        RejectReason.Timeout => "timeout",
        RejectReason.DataRate => "data_rate",
        RejectReason.Storage => "storage",
        RejectReason.Policy => "policy",
        RejectReason.Upstream => "upstream",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    public void Dispose() => _meter.Dispose();
}
