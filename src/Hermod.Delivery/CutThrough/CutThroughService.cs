using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Queue;
using Hermod.Delivery.Targets;
using Hermod.Smtp.Client;
using Hermod.Smtp.Configuration;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.CutThrough;

/// <summary>
/// Opportunistic cut-through (docs/cut-through.md): each recipient the pipeline accepts is put to its route's next hop while the
/// client waits — one upstream transaction per route, carrying all its recipients (the exploder) — and the answers
/// come back per the listener's role:
/// <list type="table">
/// <item>RCPT — submission: upstream timeout → 250, 4xx → 250 (store and forward), 5xx verbatim; ingress: timeout → 450, 4xx/5xx verbatim.</item>
/// <item>DATA — submission: timeout → 250, 4xx → 250 (store and forward), 5xx verbatim; ingress: upstream errors verbatim.</item>
/// </list>
/// The content goes on to the next hops while it arrives when what precedes it is final (<see cref="Transaction.OpenContent"/>),
/// else as a whole at the end of data; either way they reach their end of data only once the message is accepted.
/// When every destination answers the end of data alike, that answer goes back (250: the recipients are recorded
/// delivered; 5xx: nothing is kept, no bounce); mixed answers make the message durable with what happened as its
/// first attempt, and the client gets 250. A recipient with several copies (an alias list, several targets) puts
/// each to its own next hop at once: copies refused alike at RCPT give that answer; otherwise the client gets 250,
/// a copy refused for good is kept as failed (and bounced) and one refused for now is stored and forwarded. Copies
/// that cannot go cut-through (a held local domain, a route with cut_through off, quarantine) are stored and forwarded.
/// </summary>
public sealed partial class CutThroughService(DeliveryOptions delivery, SmtpOptions smtp, DeliveryTargets targets, TimeProvider time, ILogger<CutThroughService> logger) : ICutThrough
{
    private readonly DeliveryOptions _delivery = delivery;
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;
    private readonly HashSet<string> _localDomains = new(smtp.LocalDomains, StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, RouteOptions> _routes = delivery.Routes.ToDictionary(r => r.Domain, StringComparer.OrdinalIgnoreCase);

    public ICutThroughTransaction? Begin(CutThroughStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        return start.Options.Enabled && _delivery.Enabled ? new Transaction(this, start) : null;
    }

    /// <summary>The target that takes <paramref name="route"/> cut-through, or null when the route is stored and forwarded.</summary>
    private IDeliveryTarget? TargetFor(RouteKey route)
    {
        if (targets.Find(route.Target) is not { } target)
            return null; // unknown (held by the queue) or quarantine
        if (route.Target != RouteKey.Remote)
            return target;
        var routed = _routes.GetValueOrDefault(route.Domain);
        if (routed is null && (route.Domain.Length == 0 || _localDomains.Contains(route.Domain)))
            return null; // a local domain without a route: held, not sent anywhere
        return (routed ?? _routes.GetValueOrDefault("*"))?.CutThrough == false ? null : target;
    }

    /// <summary>An upstream transaction: one route's next hop, and the recipients it accepted (their delivery indexes).</summary>
    private sealed class Upstream(RouteKey route, IDeliveryTarget target)
    {
        public RouteKey Route { get; } = route;
        public IDeliveryTarget Target { get; } = target;
        public ITargetDelivery? Delivery { get; set; }
        public List<int> Accepted { get; } = [];
        /// <summary>Given up (timeout, broken): later recipients of this route are stored and forwarded; for ingress, refused with this.</summary>
        public SmtpReply? GivenUp { get; set; }
        public bool Finished { get; set; }
        /// <summary>Where this next hop reads the content while it streams in (<see cref="StreamedContent"/>); null: it gets it at the end of data.</summary>
        public System.IO.Pipelines.PipeReader? Streamed { get; set; }
        /// <summary>The content's sending, once started (while it streams in, or at the end of data).</summary>
        public Task<Transport.TransportResult>? Sending { get; set; }

        public bool Live => GivenUp is null && Delivery is not null && Accepted.Count > 0;
    }

    private sealed class Transaction(CutThroughService service, CutThroughStart start) : ICutThroughTransaction
    {
        private readonly Dictionary<string, Upstream> _upstreams = new(StringComparer.Ordinal);
        private readonly Dictionary<int, UpstreamReply> _refused = []; // refused for good at RCPT, kept as failed
        private readonly DateTimeOffset _started = service._time.GetUtcNow();
        private readonly StoredMessage _message = new(
            new MessageEnvelope(start.MessageId, start.Sender, [], start.Source, start.Body, start.SmtpUtf8, start.Ret, start.EnvelopeId),
            start.SizeHint, service._time.GetUtcNow(), []);
        private Func<Stream, CancellationToken, Task>? _content;
        private StreamedContent? _streamed;

        private static readonly SmtpReply RcptTimedOut = new(450, new(4, 4, 2), "The next hop did not answer in time; try again later");
        private static readonly SmtpReply DataTimedOut = new(451, new(4, 4, 2), "The next hop did not answer the end of data in time; try again later");
        private static readonly SmtpReply LocalError = new(451, new(4, 3, 0), "Local error in cut-through; try again later");

        /// <summary>What one copy of a recipient got: nothing to refuse (accepted upstream, or stored and forwarded), a refusal for good, or a temporary one.</summary>
        private readonly record struct CopyAnswer(UpstreamReply? Permanent, SmtpReply? Temporary);

        public async Task<SmtpReply?> AddRecipientAsync(IReadOnlyList<EnvelopeRecipient> deliveries, int firstIndex, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(deliveries);
            if (deliveries.Count == 0)
                return null; // every copy discarded by configuration
            var upstreams = new Upstream?[deliveries.Count];
            for (var k = 0; k < deliveries.Count; k++) // a copy this transaction cannot carry (a non-ASCII alias without SMTPUTF8): the queue's declares it
                if (SmtpClientConnection.RcptRefusal(deliveries[k], start.SmtpUtf8) is null)
                    upstreams[k] = UpstreamFor(RouteKey.Parse(deliveries[k].Route ?? RouteKey.For(RouteKey.Remote, deliveries[k].Address).ToString()));
            // the copies (an alias list, several targets) go to their next hops at once; those for one next hop in turn, in its one session
            var answers = new CopyAnswer[deliveries.Count];
            await Task.WhenAll(upstreams.Distinct().OfType<Upstream>().Select(async upstream =>
            {
                for (var k = 0; k < deliveries.Count; k++)
                    if (upstreams[k] == upstream)
                        answers[k] = await AskAsync(upstream, deliveries[k], firstIndex + k, cancellationToken);
            }));

            // every copy refused alike: that is the answer; else the client gets 250, a copy refused for good is kept
            // as failed (bounced, or told in the HTTP response) and one refused for now is stored and forwarded
            if (answers.All(a => a.Permanent is not null) && !start.KeepRefused)
                return Verbatim(answers[0].Permanent!);
            if (answers.All(a => a.Temporary is not null) && !start.Submission)
                return answers[0].Temporary;
            for (var k = 0; k < answers.Length; k++)
                if (answers[k].Permanent is { } refused)
                    _refused[firstIndex + k] = refused;
            return null;
        }

        /// <summary>The upstream transaction of <paramref name="route"/>, or null when the route is stored and forwarded.</summary>
        private Upstream? UpstreamFor(RouteKey route)
        {
            if (_upstreams.TryGetValue(route.ToString(), out var upstream))
                return upstream;
            if (service.TargetFor(route) is not { } target)
                return null;
            return _upstreams[route.ToString()] = new Upstream(route, target);
        }

        /// <summary>Puts one copy to its next hop within the RCPT window (opening the upstream transaction first).</summary>
        private async Task<CopyAnswer> AskAsync(Upstream upstream, EnvelopeRecipient delivery, int index, CancellationToken cancellationToken)
        {
            if (upstream.GivenUp is { } given)
                return new CopyAnswer(null, given);

            using var window = new CancellationTokenSource(start.Options.RcptTimeout, service._time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, window.Token);
            Task<ITargetDelivery>? starting = null;
            try
            {
                if (upstream.Delivery is null)
                {
                    var content = upstream; // this next hop's content: streamed to it, or written at the end of data
                    starting = upstream.Target.StartAsync(new TargetMessage(_message, upstream.Route.Domain, (stream, ct) => WriteContentAsync(content, stream, ct), Interactive: true),
                        linked.Token);
                    upstream.Delivery = await starting.WaitAsync(linked.Token);
                }
                var queued = new QueuedRecipient(index, delivery.Address, delivery.Notify, delivery.OriginalRecipient, 0, false);
                var reply = await upstream.Delivery.AddRecipientAsync(queued, linked.Token).WaitAsync(linked.Token);
                if (reply is null)
                {
                    upstream.Accepted.Add(index);
                    return default;
                }
                LogRefused(service._logger, start.MessageId, delivery.Address, reply.ToString());
                if (reply.Reply.IsPermanent)
                    return new CopyAnswer(reply, null);
                if (!reply.Answered)
                    GiveUp(upstream, Verbatim(reply)); // no next hop could be reached: no use trying again in this transaction
                return new CopyAnswer(null, Verbatim(reply));
            }
            catch (OperationCanceledException) when (window.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                if (starting is { IsCompleted: false })
                    _ = CloseLateAsync(starting); // it may still open: close it when it does
                LogTimedOut(service._logger, start.MessageId, upstream.Route.ToString(), "RCPT");
                GiveUp(upstream, RcptTimedOut);
                return new CopyAnswer(null, RcptTimedOut);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(service._logger, e, start.MessageId, upstream.Route.ToString());
                GiveUp(upstream, LocalError);
                return default; // our fault: keep the message, deliver it later
            }
        }

        public ICutThroughContent? OpenContent(string? headerPrefix)
        {
            var live = _upstreams.Values.Where(u => u.Live).ToList();
            if (headerPrefix is null || live.Count == 0)
                return null;
            _streamed = new StreamedContent(headerPrefix, live.Count);
            for (var i = 0; i < live.Count; i++)
                live[i].Streamed = _streamed.Reader(i);
            return _streamed;
        }

        public void ContentBegins()
        {
            if (_streamed is not null)
                _streamed.Reading = true;
            foreach (var upstream in _upstreams.Values)
            {
                if (!upstream.Live)
                    continue;
                if (upstream.Streamed is not null)
                    upstream.Sending ??= SendAsync(upstream, CancellationToken.None); // aborting the delivery interrupts it
                else
                    upstream.Delivery!.PrepareBody();
            }
        }

        private Task WriteContentAsync(Upstream upstream, Stream stream, CancellationToken cancellationToken) =>
            upstream.Streamed is { } streamed
                ? StreamedContent.CopyToAsync(streamed, stream, cancellationToken)
                : (_content ?? throw new InvalidOperationException("the content is not complete yet"))(stream, cancellationToken);

        public async Task<CutThroughOutcome> DataAsync(Func<Stream, CancellationToken, Task> writeContent, long size, IReadOnlyList<EnvelopeRecipient> deliveries,
            CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(deliveries);
            _content = writeContent;
            var live = new List<Upstream>();
            foreach (var upstream in _upstreams.Values)
            {
                if (upstream.GivenUp is not null || upstream.Delivery is null)
                    continue;
                if (upstream.Accepted.Count > 0 && upstream.Accepted.All(i => i < deliveries.Count && deliveries[i].Route == upstream.Route.ToString()))
                    live.Add(upstream);
                else // nothing to send, or the body stage re-routed its recipients (quarantine): they stay here
                    GiveUp(upstream, DataTimedOut);
            }
            _streamed?.Complete(); // the content is accepted: the next hops it streamed to may end their data
            if (live.Count == 0 && _refused.Count == 0)
                return new CutThroughOutcome(null, null);

            using var window = new CancellationTokenSource(start.Options.DataTimeout, service._time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, window.Token);
            var sends = live.Select(u => u.Sending ??= SendAsync(u, linked.Token)).ToList();
            try
            {
                await Task.WhenAll(sends).WaitAsync(linked.Token);
            }
            catch (OperationCanceledException) when (window.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                LogTimedOut(service._logger, start.MessageId, string.Join(", ", live.Where((_, i) => !sends[i].IsCompleted).Select(u => u.Route.ToString())), "DATA");
            }
            catch (Exception) when (sends.Any(s => s.IsFaulted))
            {
                // a broken upstream: its recipients are stored and forwarded (logged below)
            }

            var now = service._time.GetUtcNow();
            var answers = new List<(int Index, UpstreamReply Reply, bool DsnSupported)>();
            foreach (var (index, reply) in _refused)
                answers.Add((index, reply, false));
            var timedOut = 0;
            for (var i = 0; i < live.Count; i++)
            {
                var upstream = live[i];
                if (sends[i].IsCompletedSuccessfully)
                {
                    var result = sends[i].Result;
                    foreach (var index in upstream.Accepted)
                        if (result.Replies.TryGetValue(index, out var reply))
                            answers.Add((index, reply, result.DsnSupported));
                    continue;
                }
                if (sends[i].IsFaulted)
                    LogFailed(service._logger, sends[i].Exception!.GetBaseException(), start.MessageId, upstream.Route.ToString());
                else
                    timedOut += upstream.Accepted.Count;
                upstream.GivenUp = DataTimedOut;
                _ = AbandonAsync(upstream, sends[i]);
            }

            var storedAndForwarded = deliveries.Count - answers.Count - timedOut;
            if (storedAndForwarded == 0 && answers.Count > 0)
            {
                if (timedOut == 0 && answers.All(a => a.Reply.Reply.Code is >= 200 and < 300))
                    return new CutThroughOutcome(null, Attempt(answers, deliveries, now), Verbatim(answers[0].Reply));
                if (timedOut == 0 && answers.All(a => a.Reply.Reply.IsPermanent))
                    return new CutThroughOutcome(Verbatim(answers[0].Reply), null); // nothing kept, no bounce
                if (!start.Submission && answers.All(a => !a.Reply.Reply.IsPermanent && a.Reply.Reply.Code is not (>= 200 and < 300)))
                    return new CutThroughOutcome(Verbatim(answers[0].Reply), null); // ingress: temporary errors verbatim
            }
            else if (storedAndForwarded == 0 && answers.Count == 0 && timedOut > 0 && !start.Submission)
                return new CutThroughOutcome(DataTimedOut, null);
            return new CutThroughOutcome(null, answers.Count == 0 ? null : Attempt(answers, deliveries, now));
        }

        private static async Task<Transport.TransportResult> SendAsync(Upstream upstream, CancellationToken cancellationToken)
        {
            var result = await upstream.Delivery!.BodyAsync(cancellationToken);
            await upstream.Delivery.CommitAsync(cancellationToken);
            upstream.Finished = true;
            return result;
        }

        /// <summary>The first attempt of the answered recipients, with the queue's own rules for what an answer means (retry, bounce, DSN).</summary>
        private CutThroughAttempt Attempt(List<(int Index, UpstreamReply Reply, bool DsnSupported)> answers, IReadOnlyList<EnvelopeRecipient> deliveries, DateTimeOffset now)
        {
            var outcomes = answers.Select(a =>
            {
                var d = deliveries[a.Index];
                var outcome = Outcomes.For(new QueuedRecipient(a.Index, d.Address, d.Notify, d.OriginalRecipient, 0, false), a.Reply, _message, a.DsnSupported,
                    service._delivery, now, Random.Shared.NextDouble());
                return start.KeepRefused ? outcome with { Dsn = DsnKind.None } : outcome; // the HTTP caller is told in the response
            }).ToList();
            return new CutThroughAttempt(_started, now, outcomes);
        }

        /// <summary>The next hop's reply for the client; no reply at all becomes 550 or 451 by its enhanced status.</summary>
        private static SmtpReply Verbatim(UpstreamReply upstream) =>
            upstream.Answered ? upstream.Reply : new(upstream.Reply.IsPermanent ? 550 : 451, upstream.Reply.Enhanced, upstream.Reply.Text);

        private void GiveUp(Upstream upstream, SmtpReply reply)
        {
            upstream.GivenUp = reply;
            upstream.Accepted.Clear(); // its recipients so far are stored and forwarded
            if (upstream.Delivery is not null)
                _ = AbandonAsync(upstream, upstream.Sending ?? Task.CompletedTask);
        }

        /// <summary>Closes an upstream transaction that is no longer wanted, interrupting <paramref name="pending"/>; never throws.</summary>
        private async Task AbandonAsync(Upstream upstream, Task pending)
        {
            try
            {
                if (upstream.Delivery is { } delivery)
                {
                    upstream.Delivery = null;
                    await delivery.AbortAsync(CancellationToken.None); // interrupts what still runs (a stalled end of data)
                    await pending.ContinueWith(_ => { }, TaskScheduler.Default);
                    await delivery.DisposeAsync();
                }
                else
                    await pending.ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (Exception e)
            {
                LogFailed(service._logger, e, start.MessageId, upstream.Route.ToString());
            }
        }

        /// <summary>An upstream transaction that opened after its window closed: nobody wants it; never throws.</summary>
        private async Task CloseLateAsync(Task<ITargetDelivery> starting)
        {
            try
            {
                var delivery = await starting;
                await delivery.AbortAsync(CancellationToken.None);
                await delivery.DisposeAsync();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogLate(service._logger, start.MessageId, e.GetType().Name);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _streamed?.Fail(); // not accepted after all (a refusal, the client gone): no next hop reaches its end of data
            foreach (var upstream in _upstreams.Values)
                if (upstream.Delivery is { } delivery)
                {
                    upstream.Delivery = null;
                    try
                    {
                        if (!upstream.Finished)
                            await delivery.AbortAsync(CancellationToken.None);
                        await delivery.DisposeAsync();
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogFailed(service._logger, e, start.MessageId, upstream.Route.ToString());
                    }
                }
            _upstreams.Clear();
        }
    }

    [LoggerMessage(3501, LogLevel.Debug, "{MessageId}: cut-through to <{Recipient}> refused upstream: {Reply}")]
    private static partial void LogRefused(ILogger logger, string messageId, string recipient, string reply);

    [LoggerMessage(3502, LogLevel.Information, "{MessageId}: cut-through to {Route} timed out at {Stage}; stored and forwarded")]
    private static partial void LogTimedOut(ILogger logger, string messageId, string route, string stage);

    [LoggerMessage(3504, LogLevel.Debug, "{MessageId}: a late upstream transaction was closed ({Outcome})")]
    private static partial void LogLate(ILogger logger, string messageId, string outcome);

    [LoggerMessage(3503, LogLevel.Warning, "{MessageId}: cut-through to {Route} failed; stored and forwarded")]
    private static partial void LogFailed(ILogger logger, Exception e, string messageId, string route);
}
