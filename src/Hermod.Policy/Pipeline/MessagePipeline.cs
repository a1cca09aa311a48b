using System.Collections.Concurrent;
using System.Text;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Policy.Checks;
using Hermod.Policy.Dispatch;
using Hermod.Policy.Headers;
using Hermod.Policy.Modifiers;
using Hermod.Policy.Processors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Policy.Pipeline;

/// <summary>
/// A policy pipeline (maddy's model): checks of a stage run concurrently (root block, then the source and
/// destination blocks a transaction goes through), modifiers run one after another in configuration order, and
/// dispatch decides per recipient which targets get a copy or which refusal the client gets — at RCPT, as early
/// as possible. A check or modifier that throws or a modifier that times out is our fault, not the client's: the
/// client is asked to try again later in words that name no component, and the log gets the component's name.
/// </summary>
public sealed partial class MessagePipeline : IMessagePipeline
{
    private readonly ConcurrentDictionary<(DispatchBlock, DispatchBlock?), CheckRunner> _runners = new();

    /// <summary>Default time a modifier may take.</summary>
    public static readonly TimeSpan DefaultModifierTimeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyDictionary<IModifier, TimeSpan> _modifierTimeouts;

    public MessagePipeline(string name, DispatchBlock root, SemaphoreSlim pool, TimeProvider time, ILogger logger, int maxHeaderBytes,
        IReadOnlyList<IStreamProcessor>? processors = null, IReadOnlyDictionary<IModifier, TimeSpan>? modifierTimeouts = null)
    {
        Name = name;
        Logger = logger;
        _modifierTimeouts = modifierTimeouts ?? new Dictionary<IModifier, TimeSpan>();
        Processors = processors ?? BuiltInProcessors.Default;
        Root = root;
        Pool = pool;
        Time = time;
        MaxHeaderBytes = maxHeaderBytes;
    }

    /// <summary>No checks, no modifiers (so nothing to log): everything accepted goes to the "remote" target.</summary>
    public static MessagePipeline Default(int maxHeaderBytes) =>
        new("default", new DispatchBlock { Key = "default" }, new SemaphoreSlim(1), TimeProvider.System, NullLogger.Instance, maxHeaderBytes);

    /// <summary>A modifier that took longer than its timeout: the client tries again later; the log names the modifier.</summary>
    public static readonly SmtpReply ModifierTimedOut = new(451, new(4, 4, 3), "Timed out in processing, try again later");

    /// <summary>The header block is over the limit the header modifiers read.</summary>
    public static readonly SmtpReply HeaderTooLarge = new(552, new(5, 3, 4), "Message header too large");

    public string Name { get; }

    public IReadOnlyList<IStreamProcessor> Processors { get; }

    public DispatchBlock Root { get; }

    internal SemaphoreSlim Pool { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal int MaxHeaderBytes { get; }

    public async ValueTask<ConnectDecision> ConnectAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (Root.Checks.Count == 0)
            return ConnectDecision.Accept;
        var outcome = await RunnerFor(Root, null).RunAsync(CheckStage.Connection, Context(session), cancellationToken);
        return outcome.Refused
            ? new ConnectDecision(outcome.Refusal)
            : new ConnectDecision(null, PipelineTransaction.Fields(outcome.Headers), outcome.QuarantineReason);
    }

    public IPipelineTransaction Begin(SessionInfo session, ConnectDecision connection) => new PipelineTransaction(this, session, connection);

    /// <summary>
    /// Runs one modifier step in a slot of the shared pool (none free: 451 4.3.2) within its timeout (451 4.4.3);
    /// a modifier that throws is our fault, a temporary failure (451 4.3.0) — never a message passed on unmodified.
    /// Either way the log names the modifier; the client's reply does not.
    /// </summary>
    internal async ValueTask<T> RunModifierAsync<T>(IModifier modifier, Func<CancellationToken, ValueTask<T>> step, CancellationToken cancellationToken)
    {
        if (!Pool.Wait(0, CancellationToken.None))
            throw new ModifierFailure(CheckRunner.Busy);
        try
        {
            var limit = _modifierTimeouts.GetValueOrDefault(modifier, DefaultModifierTimeout);
            using var timeout = new CancellationTokenSource(limit, Time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            try
            {
                return await step(linked.Token).AsTask().WaitAsync(linked.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                LogModifierTimedOut(Logger, modifier.Name, limit);
                throw new ModifierFailure(ModifierTimedOut);
            }
            catch (Exception e) when (e is not (OperationCanceledException or ModifierFailure))
            {
                LogModifierFailed(Logger, e, modifier.Name);
                throw new ModifierFailure(SmtpReply.LocalError);
            }
        }
        finally
        {
            Pool.Release();
        }
    }

    /// <summary>The checks of the blocks from the root to <paramref name="source"/> and <paramref name="leaf"/>, run together.</summary>
    internal CheckRunner RunnerFor(DispatchBlock source, DispatchBlock? leaf) =>
        _runners.GetOrAdd((source, leaf), key =>
        {
            var checks = new List<ConfiguredCheck>(Root.Checks);
            if (key.Item1 != Root)
                checks.AddRange(key.Item1.Checks);
            if (key.Item2 is { } l && l != key.Item1)
                checks.AddRange(l.Checks);
            return new CheckRunner(checks, Pool, Time, Logger);
        });

    internal static bool HasChecks(DispatchBlock root, DispatchBlock source, DispatchBlock? leaf) =>
        root.Checks.Count > 0 || source.Checks.Count > 0 || leaf?.Checks.Count > 0;

    internal static CheckContext Context(SessionInfo session, string? sender = null, string? recipient = null, IReadOnlyList<string>? recipients = null,
        Func<CancellationToken, Task<Stream>>? openBody = null) => new()
        {
            Listener = session.Listener,
            ClientAddress = session.ClientAddress,
            Helo = session.Helo,
            AuthUser = session.AuthUser,
            Tls = session.Tls,
            Sender = sender,
            Recipient = recipient,
            Recipients = recipients ?? [],
            OpenBody = openBody,
        };

    [LoggerMessage(6002, LogLevel.Error, "Modifier {Modifier} failed; the client was asked to try again later")]
    private static partial void LogModifierFailed(ILogger logger, Exception e, string modifier);

    [LoggerMessage(6003, LogLevel.Warning, "Modifier {Modifier} did not finish within {Timeout}; the client was asked to try again later")]
    private static partial void LogModifierTimedOut(ILogger logger, string modifier, TimeSpan timeout);
}

/// <summary>A modifier could not run: the reply the client gets.</summary>
internal sealed class ModifierFailure(SmtpReply reply) : Exception(reply.ToString())
{
    public SmtpReply Reply { get; } = reply;
}

/// <summary>One transaction through a <see cref="MessagePipeline"/>.</summary>
internal sealed class PipelineTransaction(MessagePipeline pipeline, SessionInfo session, ConnectDecision connection) : IPipelineTransaction
{
    private readonly List<EnvelopeRecipient> _recipients = [];
    private readonly HashSet<(string Address, string Route)> _routes = [];
    private readonly List<DispatchBlock> _leaves = [];
    private readonly StringBuilder _addedFields = new(connection.AddedFields);
    private DispatchBlock _source = pipeline.Root;
    private string? _quarantine = connection.QuarantineReason;

    public string Sender { get; private set; } = "";

    public IReadOnlyList<EnvelopeRecipient> Recipients => _recipients;

    private DispatchBlock Root => pipeline.Root;

    public async ValueTask<SmtpReply?> MailAsync(string sender, CancellationToken cancellationToken)
    {
        try
        {
            return await MailStageAsync(sender, cancellationToken);
        }
        catch (ModifierFailure failure)
        {
            return failure.Reply;
        }
    }

    public async ValueTask<SmtpReply?> RcptAsync(EnvelopeRecipient recipient, CancellationToken cancellationToken)
    {
        try
        {
            return await RcptStageAsync(recipient, cancellationToken);
        }
        catch (ModifierFailure failure)
        {
            return failure.Reply;
        }
    }

    public async ValueTask<BodyDecision> BodyAsync(IBlobWriter body, CancellationToken cancellationToken)
    {
        try
        {
            return await BodyStageAsync(body, cancellationToken);
        }
        catch (ModifierFailure failure)
        {
            return new BodyDecision(failure.Reply);
        }
    }

    public void DropRecipientsFrom(int index)
    {
        for (var i = index; i < _recipients.Count; i++)
            _routes.Remove((_recipients[i].Address.ToLowerInvariant(), _recipients[i].Route!));
        _recipients.RemoveRange(index, _recipients.Count - index);
    }

    private async ValueTask<SmtpReply?> MailStageAsync(string sender, CancellationToken cancellationToken)
    {
        Sender = await RewriteSenderAsync(Root.Modifiers, sender, cancellationToken);
        _source = Dispatcher.SourceFor(Root, Sender, session.AuthUser);
        if (_source != Root)
            Sender = await RewriteSenderAsync(_source.Modifiers, Sender, cancellationToken);
        if (!MessagePipeline.HasChecks(Root, _source, null))
            return null;
        var outcome = await pipeline.RunnerFor(_source, null).RunAsync(CheckStage.Mail, MessagePipeline.Context(session, Sender), cancellationToken);
        Collect(outcome);
        return outcome.Refusal;
    }

    private async ValueTask<SmtpReply?> RcptStageAsync(EnvelopeRecipient recipient, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        IReadOnlyList<string> addresses = [recipient.Address];
        addresses = await RewriteRecipientsAsync(Root.Modifiers, addresses, cancellationToken);
        if (_source != Root)
            addresses = await RewriteRecipientsAsync(_source.Modifiers, addresses, cancellationToken);

        var accepted = new List<(string Address, DispatchBlock Leaf)>(addresses.Count);
        var outcomes = new List<StageOutcome>();
        foreach (var address in addresses)
        {
            var leaf = Dispatcher.DestinationFor(_source, address);
            if (leaf.Reject is { } reject)
                return reject;
            if (MessagePipeline.HasChecks(Root, _source, leaf))
            {
                var context = MessagePipeline.Context(session, Sender, address, [.. _recipients.Select(r => r.Address)]);
                var outcome = await pipeline.RunnerFor(_source, leaf).RunAsync(CheckStage.Rcpt, context, cancellationToken);
                if (outcome.Refused)
                    return outcome.Refusal;
                outcomes.Add(outcome);
            }
            accepted.Add((address, leaf));
        }
        foreach (var outcome in outcomes) // only once every address of the RCPT is accepted: a refused RCPT leaves no headers or quarantine
            Collect(outcome);
        foreach (var (address, leaf) in accepted)
        {
            var finals = leaf == _source || leaf == Root ? [address] : await RewriteRecipientsAsync(leaf.Modifiers, [address], cancellationToken);
            if (!_leaves.Contains(leaf))
                _leaves.Add(leaf);
            foreach (var final in finals)
                foreach (var target in leaf.DeliverTo ?? [RouteKey.Remote])
                {
                    if (target == RouteKey.Discard)
                        continue;
                    var route = RouteKey.For(target, final).ToString();
                    if (!_routes.Add((final.ToLowerInvariant(), route)))
                        continue; // one copy per address and route, however many ways it was reached
                    var original = recipient.OriginalRecipient ?? (final.Equals(recipient.Address, StringComparison.OrdinalIgnoreCase) ? null : $"rfc822;{recipient.Address}");
                    _recipients.Add(new EnvelopeRecipient(final, recipient.Notify, original, route));
                }
        }
        return null;
    }

    public string? FieldsBeforeBody =>
        !BodyChecks().Exists(c => c.Check.RunsAt(CheckStage.Body)) && HeaderModifiers().Count == 0 && _quarantine is null ? _addedFields.ToString() : null;

    /// <summary>The checks of the body stage: the root's, the source block's and every destination block's reached.</summary>
    private List<ConfiguredCheck> BodyChecks()
    {
        var checks = new List<ConfiguredCheck>(Root.Checks);
        if (_source != Root)
            checks.AddRange(_source.Checks);
        foreach (var leaf in _leaves)
            if (leaf != _source && leaf != Root)
                checks.AddRange(leaf.Checks.Where(c => !checks.Contains(c)));
        return checks;
    }

    private async ValueTask<BodyDecision> BodyStageAsync(IBlobWriter body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var checks = BodyChecks();
        if (checks.Count > 0)
        {
            var context = MessagePipeline.Context(session, Sender, null, [.. _recipients.Select(r => r.Address)],
                async ct => await body.OpenReadAsync(ct));
            var outcome = await new CheckRunner(checks, pipeline.Pool, pipeline.Time, pipeline.Logger).RunAsync(CheckStage.Body, context, cancellationToken);
            if (outcome.Refused)
                return new BodyDecision(outcome.Refusal);
            Collect(outcome);
        }
        if (_quarantine is not null)
            for (var i = 0; i < _recipients.Count; i++) // held for an operator, whatever the targets were
                _recipients[i] = _recipients[i] with { Route = RouteKey.Quarantine + ":" + _recipients[i].Route };

        var modifiers = HeaderModifiers();
        if (modifiers.Count == 0)
            return new BodyDecision(null, _addedFields.ToString(), null, _quarantine);
        Stream? read = null;
        try
        {
            read = await body.OpenReadAsync(cancellationToken);
            if (await MessageHeader.ReadAsync(read, pipeline.MaxHeaderBytes, cancellationToken) is not var (header, length))
                return new BodyDecision(MessagePipeline.HeaderTooLarge);
            var context = new ModifierContext
            {
                Listener = session.Listener,
                ClientAddress = session.ClientAddress,
                AuthUser = session.AuthUser,
                Sender = Sender,
                Recipients = [.. _recipients.Select(r => r.Address).Distinct(StringComparer.OrdinalIgnoreCase)],
                OpenBody = async ct =>
                {
                    var stream = await body.OpenReadAsync(ct);
                    await SkipAsync(stream, length, ct);
                    return stream;
                },
            };
            foreach (var modifier in modifiers)
                await pipeline.RunModifierAsync(modifier, async ct =>
                {
                    await modifier.ModifyHeaderAsync(header, context, ct);
                    return true;
                }, cancellationToken);
            return new BodyDecision(null, _addedFields.ToString(), header.Changed ? new ReplacedHeader(header.ToBytes(), length) : null, _quarantine);
        }
        finally
        {
            if (read is not null)
                await read.DisposeAsync();
        }
    }

    private List<IModifier> HeaderModifiers()
    {
        var result = new List<IModifier>();
        foreach (var m in Root.Modifiers)
            if ((m.Stages & ModifierStages.Header) != 0)
                result.Add(m);
        if (_source != Root)
            foreach (var m in _source.Modifiers)
                if ((m.Stages & ModifierStages.Header) != 0)
                    result.Add(m);
        return result;
    }

    private async ValueTask<string> RewriteSenderAsync(IReadOnlyList<IModifier> modifiers, string sender, CancellationToken cancellationToken)
    {
        foreach (var modifier in modifiers)
            if ((modifier.Stages & ModifierStages.Sender) != 0)
            {
                var current = sender;
                sender = await pipeline.RunModifierAsync(modifier, ct => modifier.RewriteSenderAsync(current, ModifierContext(current), ct), cancellationToken);
            }
        return sender;
    }

    private async ValueTask<IReadOnlyList<string>> RewriteRecipientsAsync(IReadOnlyList<IModifier> modifiers, IReadOnlyList<string> addresses, CancellationToken cancellationToken)
    {
        foreach (var modifier in modifiers)
        {
            if ((modifier.Stages & ModifierStages.Recipient) == 0)
                continue;
            var next = new List<string>(addresses.Count);
            foreach (var address in addresses)
                foreach (var rewritten in await pipeline.RunModifierAsync(modifier, ct => modifier.RewriteRecipientAsync(address, ModifierContext(Sender), ct), cancellationToken))
                    if (!next.Contains(rewritten, StringComparer.OrdinalIgnoreCase))
                        next.Add(rewritten);
            addresses = next;
        }
        return addresses;
    }

    private ModifierContext ModifierContext(string sender) => new()
    {
        Listener = session.Listener,
        ClientAddress = session.ClientAddress,
        AuthUser = session.AuthUser,
        Sender = sender,
    };

    private void Collect(StageOutcome outcome)
    {
        _addedFields.Append(Fields(outcome.Headers));
        _quarantine ??= outcome.QuarantineReason;
    }

    /// <summary>Header fields added by checks, as they go in front of the message.</summary>
    internal static string Fields(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in headers)
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        return text.ToString();
    }

    private static async Task SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(count, 16 * 1024)];
        while (count > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
            if (read == 0)
                return;
            count -= read;
        }
    }
}
