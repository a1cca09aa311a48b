using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Policy.Checks;
using Hermod.Policy.Dispatch;
using Hermod.Policy.Headers;
using Hermod.Policy.Modifiers;
using Hermod.Policy.Pipeline;
using Hermod.TestKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Policy.Tests.Pipeline;

/// <summary>A transaction through <see cref="MessagePipeline"/>: checks per stage, modifiers, dispatch to routes, the body stage.</summary>
public sealed class MessagePipelineTests
{
    /// <summary>A check that answers with <paramref name="decide"/> at its stages and records what it saw.</summary>
    private sealed class FakeCheck(string name, Func<CheckContext, CheckResult> decide, params CheckStage[] stages) : ICheck
    {
        public FakeCheck(string name, CheckResult result, params CheckStage[] stages)
            : this(name, _ => result, stages)
        {
        }

        public string Name => name;

        /// <summary>(stage, recipient) of every run.</summary>
        public ConcurrentQueue<(CheckStage Stage, string? Recipient)> Runs { get; } = new();

        /// <summary>The message as OpenBody gave it at the body stage.</summary>
        public string? Body { get; private set; }

        /// <summary>The runs as "Stage" or "Stage recipient".</summary>
        public string[] Seen => [.. Runs.Select(r => r.Recipient is null ? $"{r.Stage}" : $"{r.Stage} {r.Recipient}")];

        public bool RunsAt(CheckStage stage) => stages.Contains(stage);

        public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
        {
            Runs.Enqueue((stage, context.Recipient));
            if (stage == CheckStage.Body && context.OpenBody is { } open)
            {
                await using var stream = await open(cancellationToken);
                using var reader = new StreamReader(stream, Encoding.Latin1);
                Body = await reader.ReadToEndAsync(cancellationToken);
            }
            return decide(context);
        }
    }

    /// <summary>A modifier doing what its delegates say, at the stages they are given for.</summary>
    private sealed class FakeModifier(
        Func<string, string>? sender = null,
        Func<string, IReadOnlyList<string>>? recipient = null,
        Action<MessageHeader, ModifierContext>? header = null) : IModifier
    {
        public string Name => "fake";

        public ModifierStages Stages =>
            (sender is null ? 0 : ModifierStages.Sender) | (recipient is null ? 0 : ModifierStages.Recipient) | (header is null ? 0 : ModifierStages.Header);

        /// <summary>The body (after the header) as the modifier context's OpenBody gave it.</summary>
        public string? Body { get; private set; }

        public ValueTask<string> RewriteSenderAsync(string s, ModifierContext context, CancellationToken cancellationToken) => ValueTask.FromResult(sender!(s));

        public ValueTask<IReadOnlyList<string>> RewriteRecipientAsync(string r, ModifierContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(recipient!(r));

        public async ValueTask ModifyHeaderAsync(MessageHeader h, ModifierContext context, CancellationToken cancellationToken)
        {
            header!(h, context);
            if (context.OpenBody is { } open)
            {
                await using var stream = await open(cancellationToken);
                using var reader = new StreamReader(stream, Encoding.Latin1);
                Body = await reader.ReadToEndAsync(cancellationToken);
            }
        }
    }

    /// <summary>An alias table: a key expands to its addresses, anything else stays itself.</summary>
    private static FakeModifier Aliases(params (string Key, string[] Targets)[] entries) =>
        new(recipient: r => entries.FirstOrDefault(e => e.Key.Equals(r, StringComparison.OrdinalIgnoreCase)).Targets ?? [r]);

    /// <summary>The stored message as written so far; reads give a copy.</summary>
    private const string Message = "X-Internal: secret\r\nSubject: hello\r\n\r\nbody line\r\n";

    private static readonly SessionInfo Session = new("mx", IPAddress.Parse("192.0.2.1"), "client.test", null, false);

    private static MessagePipeline Pipeline(DispatchBlock root) => new("test", root, new SemaphoreSlim(64), TimeProvider.System, NullLogger.Instance, 64 * 1024);

    private static ConfiguredCheck Configured(ICheck check) => new(check, TimeSpan.FromSeconds(10));

    private static DispatchBlock Block(string key, string[]? match = null, string[]? deliverTo = null, SmtpReply? reject = null,
        ICheck[]? checks = null, IModifier[]? modifiers = null, DispatchBlock[]? source = null, DispatchBlock[]? destination = null,
        DispatchBlock? @default = null, string[]? users = null) => new()
        {
            Key = key,
            Addresses = new HashSet<string>((match ?? []).Where(m => m.Contains('@', StringComparison.Ordinal)), StringComparer.OrdinalIgnoreCase),
            Domains = new HashSet<string>((match ?? []).Where(m => !m.Contains('@', StringComparison.Ordinal)), StringComparer.OrdinalIgnoreCase),
            Users = new HashSet<string>(users ?? [], StringComparer.Ordinal),
            Checks = [.. (checks ?? []).Select(Configured)],
            Modifiers = modifiers ?? [],
            Source = source ?? [],
            Destination = destination ?? [],
            Default = @default,
            DeliverTo = deliverTo,
            Reject = reject,
        };

    private static async Task<IPipelineTransaction> Begin(DispatchBlock root, string sender = "sender@example.org", SessionInfo? session = null)
    {
        var tx = Pipeline(root).Begin(session ?? Session, ConnectDecision.Accept);
        Assert.Null(await tx.MailAsync(sender, default));
        return tx;
    }

    private static async Task Accept(IPipelineTransaction tx, string recipient) => Assert.Null(await tx.RcptAsync(new EnvelopeRecipient(recipient), default));

    private static string[] Routes(IPipelineTransaction tx) => [.. tx.Recipients.Select(r => $"{r.Address} {r.Route}")];

    // ---- what precedes the body, known before it arrives (cut-through streams the body when it is)

    [Fact]
    public async Task Fields_are_final_before_the_body_when_no_body_check_header_modifier_or_quarantine_applies()
    {
        var mailCheck = new FakeCheck("spf", CheckResult.WithHeader("Received-SPF", "pass"), CheckStage.Mail);
        var tx = await Begin(Block("root", checks: [mailCheck]));
        await Accept(tx, "a@example.test");
        Assert.Equal("Received-SPF: pass\r\n", tx.FieldsBeforeBody);
        var decision = await tx.BodyAsync(new MemoryBlob("Subject: x\r\n\r\nbody\r\n"), default);
        Assert.Equal(tx.FieldsBeforeBody, decision.AddedFields); // what the body stage added: nothing more
    }

    [Fact]
    public async Task Fields_are_not_final_before_the_body_with_a_body_check()
    {
        var tx = await Begin(Block("root", checks: [new FakeCheck("dkim", CheckResult.Accept, CheckStage.Body)]));
        await Accept(tx, "a@example.test");
        Assert.Null(tx.FieldsBeforeBody);
    }

    [Fact]
    public async Task Fields_are_not_final_before_the_body_with_a_header_modifier()
    {
        var tx = await Begin(Block("root", modifiers: [new FakeModifier(header: (h, _) => h.Prepend("X-Scanned", "yes"))]));
        await Accept(tx, "a@example.test");
        Assert.Null(tx.FieldsBeforeBody);
    }

    [Fact]
    public async Task Fields_are_not_final_before_the_body_when_the_message_is_quarantined()
    {
        var tx = await Begin(Block("root", checks: [new FakeCheck("suspicious", CheckResult.Quarantine("looks odd"), CheckStage.Rcpt)]));
        await Accept(tx, "a@example.test");
        Assert.Null(tx.FieldsBeforeBody);
    }

    // ---- dispatch to routes

    [Fact]
    public async Task The_remote_target_routes_by_domain_and_the_others_by_target_and_domain()
    {
        var tx = await Begin(Block("root", destination:
        [
            Block("archive", match: ["example.test"], deliverTo: ["archive"]),
        ], @default: Block("default", deliverTo: ["remote"])));
        await Accept(tx, "bob@Example.TEST");
        await Accept(tx, "carol@example.org");
        Assert.Equal(["bob@Example.TEST archive:example.test", "carol@example.org example.org"], Routes(tx));
    }

    [Fact]
    public async Task A_pipeline_without_deliver_to_sends_everything_to_remote()
    {
        var tx = await Begin(Block("root"));
        await Accept(tx, "bob@example.test");
        var recipient = Assert.Single(tx.Recipients);
        Assert.Equal(new EnvelopeRecipient("bob@example.test", DsnNotify.Default, null, "example.test"), recipient);
    }

    [Fact]
    public async Task Several_targets_give_one_recipient_each()
    {
        var tx = await Begin(Block("root", deliverTo: ["remote", "archive", "mailboxes"]));
        await tx.RcptAsync(new EnvelopeRecipient("bob@example.test", DsnNotify.Failure), default);
        Assert.Equal(["bob@example.test example.test", "bob@example.test archive:example.test", "bob@example.test mailboxes:example.test"], Routes(tx));
        Assert.All(tx.Recipients, r => Assert.Equal(DsnNotify.Failure, r.Notify));
    }

    [Fact]
    public async Task Discard_accepts_and_gives_no_recipient()
    {
        var tx = await Begin(Block("root", deliverTo: ["discard"]));
        await Accept(tx, "bob@example.test");
        Assert.Empty(tx.Recipients);

        tx = await Begin(Block("root", deliverTo: ["discard", "archive"]));
        await Accept(tx, "bob@example.test");
        Assert.Equal(["bob@example.test archive:example.test"], Routes(tx));
    }

    [Fact]
    public async Task A_reject_block_refuses_at_rcpt_with_its_reply()
    {
        var tx = await Begin(Block("root", destination:
        [
            Block("abuse", match: ["abuse@example.test"], reject: new SmtpReply(550, new(5, 7, 1), "Use the web form")),
        ], @default: Block("default", deliverTo: ["remote"])));
        var refused = await tx.RcptAsync(new EnvelopeRecipient("abuse@example.test"), default);
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Use the web form"), refused);
        Assert.Empty(tx.Recipients);
        await Accept(tx, "bob@example.test");
        Assert.Equal(["bob@example.test example.test"], Routes(tx));
    }

    // ---- recipient modifiers

    [Fact]
    public async Task An_alias_expands_into_recipients_each_dispatched_on_its_own()
    {
        var tx = await Begin(Block("root", modifiers: [Aliases(("team@example.test", ["alice@example.test", "bob@example.org"]))], destination:
        [
            Block("local", match: ["example.test"], deliverTo: ["mailboxes"]),
        ], @default: Block("default", deliverTo: ["remote"])));
        await Accept(tx, "team@example.test");
        Assert.Equal(["alice@example.test mailboxes:example.test", "bob@example.org example.org"], Routes(tx));
        Assert.All(tx.Recipients, r => Assert.Equal("rfc822;team@example.test", r.OriginalRecipient));

        await Accept(tx, "carol@example.test"); // not an alias: its address did not change
        Assert.Null(tx.Recipients[^1].OriginalRecipient);
    }

    [Fact]
    public async Task The_clients_original_recipient_is_kept_through_a_rewrite()
    {
        var tx = await Begin(Block("root", modifiers: [Aliases(("team@example.test", ["alice@example.test"]))]));
        Assert.Null(await tx.RcptAsync(new EnvelopeRecipient("team@example.test", DsnNotify.Default, "rfc822;list@example.net"), default));
        Assert.Equal("rfc822;list@example.net", Assert.Single(tx.Recipients).OriginalRecipient);
    }

    [Fact]
    public async Task Destination_block_modifiers_rewrite_only_their_recipients()
    {
        var tx = await Begin(Block("root", destination:
        [
            Block("local", match: ["example.test"], deliverTo: ["mailboxes"], modifiers: [new FakeModifier(recipient: r => [r.Replace("+tag", "", StringComparison.Ordinal)])]),
        ], @default: Block("default", deliverTo: ["remote"])));
        await Accept(tx, "alice+tag@example.test");
        await Accept(tx, "bob+tag@example.org");
        Assert.Equal(["alice@example.test mailboxes:example.test", "bob+tag@example.org example.org"], Routes(tx));
        Assert.Equal("rfc822;alice+tag@example.test", tx.Recipients[0].OriginalRecipient);
    }

    [Fact]
    public async Task One_copy_per_address_and_route_however_it_was_reached()
    {
        var tx = await Begin(Block("root", deliverTo: ["remote", "archive"],
            modifiers: [Aliases(("team@example.test", ["alice@example.test", "bob@example.test"]), ("all@example.test", ["ALICE@example.test", "carol@example.test"]))]));
        await Accept(tx, "team@example.test");
        await Accept(tx, "all@example.test");
        await Accept(tx, "Bob@Example.test");
        Assert.Equal(
        [
            "alice@example.test example.test", "alice@example.test archive:example.test",
            "bob@example.test example.test", "bob@example.test archive:example.test",
            "carol@example.test example.test", "carol@example.test archive:example.test",
        ], Routes(tx));
    }

    [Fact]
    public async Task A_refused_expansion_refuses_the_whole_rcpt_and_adds_nothing()
    {
        var tx = await Begin(Block("root", modifiers: [Aliases(("team@example.test", ["alice@example.test", "abuse@example.test"]))], destination:
        [
            Block("abuse", match: ["abuse@example.test"], reject: new SmtpReply(550, new(5, 7, 1), "Use the web form")),
        ], @default: Block("default", deliverTo: ["remote"])));
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Use the web form"), await tx.RcptAsync(new EnvelopeRecipient("team@example.test"), default));
        Assert.Empty(tx.Recipients);
    }

    [Fact]
    public async Task A_check_refusing_one_expanded_address_refuses_the_whole_rcpt()
    {
        var check = new FakeCheck("recipient_exists", c => c.Recipient == "gone@example.test" ? CheckResult.Reject("no such user", 550, new(5, 1, 1)) : CheckResult.Accept, CheckStage.Rcpt);
        var tx = await Begin(Block("root", checks: [check], modifiers: [Aliases(("team@example.test", ["alice@example.test", "gone@example.test"]))]));
        Assert.Equal(new SmtpReply(550, new(5, 1, 1), "no such user"), await tx.RcptAsync(new EnvelopeRecipient("team@example.test"), default));
        Assert.Empty(tx.Recipients);
        Assert.Equal(["Rcpt alice@example.test", "Rcpt gone@example.test"], check.Seen);
    }

    [Fact]
    public async Task A_refused_rcpt_leaves_no_headers_and_no_quarantine_behind()
    {
        // alice's checks pass (adding a header and asking for quarantine), then gone@ is refused: the RCPT is refused,
        // so nothing of it may change the message the other recipients get.
        var check = new FakeCheck("scan", c => c.Recipient switch
        {
            "gone@example.test" => CheckResult.Reject("no such user", 550, new(5, 1, 1)),
            "alice@example.test" => new CheckResult(CheckAction.Quarantine, QuarantineReason: "suspicious", Headers: [new("X-Alice", "seen")]),
            _ => CheckResult.Accept,
        }, CheckStage.Rcpt);
        var tx = await Begin(Block("root", checks: [check], modifiers: [Aliases(("team@example.test", ["alice@example.test", "gone@example.test"]))]));
        Assert.NotNull(await tx.RcptAsync(new EnvelopeRecipient("team@example.test"), default));
        await Accept(tx, "bob@example.test");
        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Null(decision.Refusal);
        Assert.Equal("", decision.AddedFields);
        Assert.Equal(["bob@example.test example.test"], Routes(tx));
    }

    // ---- checks

    [Fact]
    public async Task Checks_of_the_root_source_and_destination_blocks_all_run_at_rcpt()
    {
        var rootCheck = new FakeCheck("root", CheckResult.Accept, CheckStage.Mail, CheckStage.Rcpt);
        var sourceCheck = new FakeCheck("source", CheckResult.Accept, CheckStage.Mail, CheckStage.Rcpt);
        var destinationCheck = new FakeCheck("destination", CheckResult.Accept, CheckStage.Mail, CheckStage.Rcpt);
        var otherCheck = new FakeCheck("other", CheckResult.Accept, CheckStage.Mail, CheckStage.Rcpt);
        var defaultCheck = new FakeCheck("default", CheckResult.Accept, CheckStage.Mail, CheckStage.Rcpt);
        var source = Block("source", match: ["example.org"], checks: [sourceCheck], destination:
        [
            Block("local", match: ["example.test"], deliverTo: ["mailboxes"], checks: [destinationCheck]),
            Block("other", match: ["example.net"], deliverTo: ["remote"], checks: [otherCheck]),
        ], @default: Block("source.default", deliverTo: ["remote"]));
        var tx = await Begin(Block("root", checks: [rootCheck], source: [source], @default: Block("default", deliverTo: ["remote"], checks: [defaultCheck])));

        Assert.Equal(["Mail"], rootCheck.Seen);
        Assert.Equal(["Mail"], sourceCheck.Seen);
        Assert.Empty(destinationCheck.Runs); // not known before RCPT

        await Accept(tx, "bob@example.test");
        Assert.Equal(["Mail", "Rcpt bob@example.test"], rootCheck.Seen);
        Assert.Equal(["Mail", "Rcpt bob@example.test"], sourceCheck.Seen);
        Assert.Equal(["Rcpt bob@example.test"], destinationCheck.Seen);
        Assert.Empty(otherCheck.Runs);
        Assert.Empty(defaultCheck.Runs);
    }

    [Fact]
    public async Task A_destination_blocks_check_refuses_only_its_recipients()
    {
        var refuse = new FakeCheck("refuse", CheckResult.TempFail("mailbox busy", 452, new(4, 2, 1)), CheckStage.Rcpt);
        var tx = await Begin(Block("root", destination:
        [
            Block("local", match: ["example.test"], deliverTo: ["mailboxes"], checks: [refuse]),
        ], @default: Block("default", deliverTo: ["remote"])));
        Assert.Equal(new SmtpReply(452, new(4, 2, 1), "mailbox busy"), await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default));
        await Accept(tx, "bob@example.org");
        Assert.Equal(["bob@example.org example.org"], Routes(tx));
    }

    [Fact]
    public async Task A_mail_stage_refusal_is_the_reply_to_mail()
    {
        var tx = Pipeline(Block("root", checks: [new FakeCheck("spf", CheckResult.Reject("SPF fail", 550, new(5, 7, 23)), CheckStage.Mail)])).Begin(Session, ConnectDecision.Accept);
        Assert.Equal(new SmtpReply(550, new(5, 7, 23), "SPF fail"), await tx.MailAsync("mallory@example.org", default));
    }

    [Fact]
    public async Task Body_checks_read_the_stored_message_and_their_headers_are_added()
    {
        var spf = new FakeCheck("spf", CheckResult.WithHeader("Received-SPF", "pass"), CheckStage.Mail);
        var scan = new FakeCheck("scan", CheckResult.WithHeader("X-Scan", "clean"), CheckStage.Body);
        var destinationScan = new FakeCheck("destination-scan", CheckResult.WithHeader("Authentication-Results", "mx.example.test; dkim=pass"), CheckStage.Body);
        var tx = await Begin(Block("root", checks: [spf, scan], destination:
        [
            Block("local", match: ["example.test"], deliverTo: ["mailboxes"], checks: [destinationScan]),
        ], @default: Block("default", deliverTo: ["remote"])));
        await Accept(tx, "bob@example.test");
        Assert.Empty(scan.Runs);

        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Null(decision.Refusal);
        Assert.Equal(Message, scan.Body);
        Assert.Equal(Message, destinationScan.Body);
        Assert.Equal("Received-SPF: pass\r\nX-Scan: clean\r\nAuthentication-Results: mx.example.test; dkim=pass\r\n", decision.AddedFields);
        Assert.Null(decision.Header);
    }

    [Fact]
    public async Task A_body_check_refusal_is_the_body_decision()
    {
        var tx = await Begin(Block("root", checks: [new FakeCheck("av", CheckResult.Reject("virus found", 554, new(5, 7, 1)), CheckStage.Body)]));
        await Accept(tx, "bob@example.test");
        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Equal(new SmtpReply(554, new(5, 7, 1), "virus found"), decision.Refusal);
    }

    [Fact]
    public async Task Quarantine_holds_every_recipient_on_its_previous_route()
    {
        var tx = await Begin(Block("root", checks: [new FakeCheck("av", CheckResult.Quarantine("looks like malware"), CheckStage.Body)], destination:
        [
            Block("local", match: ["example.test"], deliverTo: ["mailboxes", "archive"]),
        ], @default: Block("default", deliverTo: ["remote"])));
        await Accept(tx, "bob@example.test");
        await Accept(tx, "carol@example.org");
        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Null(decision.Refusal);
        Assert.Equal(
        [
            "bob@example.test quarantine:mailboxes:example.test", "bob@example.test quarantine:archive:example.test",
            "carol@example.org quarantine:example.org",
        ], Routes(tx));
    }

    [Fact]
    public async Task A_connection_stage_refusal_comes_from_connect()
    {
        var dnsbl = new FakeCheck("dnsbl", CheckResult.Reject("Client host [192.0.2.1] blocked", 554, new(5, 7, 1)), CheckStage.Connection);
        var pipeline = Pipeline(Block("root", checks: [dnsbl]));
        Assert.Equal(new SmtpReply(554, new(5, 7, 1), "Client host [192.0.2.1] blocked"), (await pipeline.ConnectAsync(Session, default)).Refusal);
        Assert.Equal(["Connection"], dnsbl.Seen);

        var lenient = Pipeline(Block("root", checks: [new FakeCheck("dnsbl", CheckResult.Accept, CheckStage.Connection)]));
        Assert.Null((await lenient.ConnectAsync(Session, default)).Refusal);
    }

    /// <summary>A recipient modifier that never finishes (until cancelled) or throws.</summary>
    private sealed class StuckModifier(bool throws) : IModifier
    {
        public string Name => throws ? "broken" : "stuck";

        public ModifierStages Stages => ModifierStages.Recipient;

        public async ValueTask<IReadOnlyList<string>> RewriteRecipientAsync(string recipient, ModifierContext context, CancellationToken cancellationToken)
        {
            if (throws)
                throw new InvalidOperationException("bug");
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return [recipient];
        }
    }

    [Fact]
    public async Task A_modifier_past_its_timeout_a_throwing_one_and_a_full_pool_are_temporary_failures()
    {
        var stuck = new StuckModifier(throws: false);
        var timed = new MessagePipeline("test", Block("root", modifiers: [stuck]), new SemaphoreSlim(4), TimeProvider.System, NullLogger.Instance, 1024,
            modifierTimeouts: new Dictionary<IModifier, TimeSpan> { [stuck] = TimeSpan.FromMilliseconds(100) });
        var tx = timed.Begin(Session, ConnectDecision.Accept);
        Assert.Null(await tx.MailAsync("alice@example.org", default));
        Assert.Equal(MessagePipeline.ModifierTimedOut, await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default));
        Assert.Empty(tx.Recipients);

        tx = Pipeline(Block("root", modifiers: [new StuckModifier(throws: true)])).Begin(Session, ConnectDecision.Accept);
        await tx.MailAsync("alice@example.org", default);
        Assert.Equal(SmtpReply.LocalError, await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default));

        var full = new MessagePipeline("test", Block("root", modifiers: [new FakeModifier(recipient: r => [r])]), new SemaphoreSlim(0), TimeProvider.System, NullLogger.Instance, 1024);
        tx = full.Begin(Session, ConnectDecision.Accept);
        await tx.MailAsync("alice@example.org", default);
        var busy = await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default);
        Assert.Equal((451, "4.3.2"), (busy!.Code, busy.Enhanced.ToString()));
    }

    /// <summary>A check that throws at whatever stage it runs.</summary>
    private sealed class ThrowingCheck : ICheck
    {
        public string Name => "broken_check";

        public bool RunsAt(CheckStage stage) => true;

        public Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug in the check");
    }

    /// <summary>The client is told to try again in words of our own; the log gets the component and the exception.</summary>
    private static void AssertGenericAndLogged(SmtpReply? reply, SmtpReply expected, LogCapture log, LogLevel level, string component, Type? exception)
    {
        Assert.Equal(expected, reply);
        Assert.DoesNotContain(component, reply!.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(InvalidOperationException), reply.Text, StringComparison.Ordinal);
        var entry = Assert.Single(log.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Equal(level, entry.Level);
        Assert.Contains(component, entry.Message, StringComparison.Ordinal);
        Assert.Equal(exception, entry.Exception?.GetType());
    }

    [Fact]
    public async Task A_check_that_throws_gives_the_client_451_4_3_0_without_its_name_and_the_log_its_name()
    {
        var log = new LogCapture();
        var pipeline = new MessagePipeline("test", Block("root", checks: [new ThrowingCheck()]), new SemaphoreSlim(4), TimeProvider.System,
            log.CreateLogger("policy"), 1024);
        var reply = (await pipeline.ConnectAsync(Session, default)).Refusal;
        AssertGenericAndLogged(reply, SmtpReply.LocalError, log, LogLevel.Error, "broken_check", typeof(InvalidOperationException));
        Assert.Equal("451 4.3.0 Local error in processing, try again later", reply!.ToString());
    }

    [Fact]
    public async Task A_modifier_that_throws_gives_the_client_451_4_3_0_without_its_name_and_the_log_its_name()
    {
        var log = new LogCapture();
        var tx = new MessagePipeline("test", Block("root", modifiers: [new StuckModifier(throws: true)]), new SemaphoreSlim(4), TimeProvider.System,
            log.CreateLogger("policy"), 1024).Begin(Session, ConnectDecision.Accept);
        Assert.Null(await tx.MailAsync("alice@example.org", default));
        var reply = await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default);
        AssertGenericAndLogged(reply, SmtpReply.LocalError, log, LogLevel.Error, "broken", typeof(InvalidOperationException));
    }

    [Fact]
    public async Task A_modifier_past_its_timeout_gives_the_client_451_4_4_3_without_its_name_and_the_log_its_name()
    {
        var log = new LogCapture();
        var stuck = new StuckModifier(throws: false);
        var tx = new MessagePipeline("test", Block("root", modifiers: [stuck]), new SemaphoreSlim(4), TimeProvider.System, log.CreateLogger("policy"), 1024,
            modifierTimeouts: new Dictionary<IModifier, TimeSpan> { [stuck] = TimeSpan.FromMilliseconds(100) }).Begin(Session, ConnectDecision.Accept);
        Assert.Null(await tx.MailAsync("alice@example.org", default));
        var reply = await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default);
        AssertGenericAndLogged(reply, MessagePipeline.ModifierTimedOut, log, LogLevel.Warning, "stuck", null);
        Assert.Equal((451, "4.4.3"), (reply!.Code, reply.Enhanced.ToString()));
    }

    [Fact]
    public async Task Headers_and_quarantine_from_the_connection_stage_reach_every_transaction_of_the_session()
    {
        var fcrdns = new FakeCheck("fcrdns", new CheckResult(CheckAction.Quarantine, QuarantineReason: "odd client", Headers: [new("Authentication-Results", "mx; iprev=fail")]),
            CheckStage.Connection);
        var pipeline = Pipeline(Block("root", checks: [fcrdns]));
        var connection = await pipeline.ConnectAsync(Session, default);
        Assert.Null(connection.Refusal);
        for (var i = 0; i < 2; i++)
        {
            var tx = pipeline.Begin(Session, connection);
            Assert.Null(await tx.MailAsync("alice@example.org", default));
            Assert.Null(await tx.RcptAsync(new EnvelopeRecipient("bob@example.test"), default));
            var decision = await tx.BodyAsync(new MemoryBlob("Subject: x\r\n\r\nbody\r\n"), default);
            Assert.Equal("Authentication-Results: mx; iprev=fail\r\n", decision.AddedFields);
            Assert.Equal(["quarantine:example.test"], tx.Recipients.Select(r => r.Route));
        }
        Assert.Equal(["Connection"], fcrdns.Seen); // once per session, not per message
    }

    // ---- sender and header modifiers

    [Fact]
    public async Task Sender_modifiers_change_the_sender_before_the_source_block_is_picked()
    {
        var source = Block("source", match: ["example.test"], deliverTo: ["smarthost"],
            modifiers: [new FakeModifier(sender: s => "bounces+" + s)]);
        var root = Block("root", modifiers: [new FakeModifier(sender: s => s.Replace("@internal.test", "@example.test", StringComparison.Ordinal))],
            source: [source], @default: Block("default", deliverTo: ["remote"]));
        var tx = await Begin(root, "alice@internal.test");
        Assert.Equal("bounces+alice@example.test", tx.Sender);
        await Accept(tx, "bob@example.org");
        Assert.Equal(["bob@example.org smarthost:example.org"], Routes(tx));
    }

    [Fact]
    public async Task Header_modifiers_give_the_rewritten_header_and_the_length_it_replaces()
    {
        var modifier = new FakeModifier(header: (h, _) =>
        {
            h.Remove("X-Internal");
            h.Prepend("X-Added", "yes");
        });
        var tx = await Begin(Block("root", modifiers: [modifier]));
        await Accept(tx, "bob@example.test");
        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Null(decision.Refusal);
        var header = Assert.IsType<ReplacedHeader>(decision.Header);
        Assert.Equal("X-Internal: secret\r\nSubject: hello\r\n\r\n".Length, header.ReceivedLength);
        Assert.Equal("X-Added: yes\r\nSubject: hello\r\n\r\n", Encoding.Latin1.GetString(header.Block));
        Assert.Equal("body line\r\n", modifier.Body);
    }

    [Fact]
    public async Task Source_block_header_modifiers_run_after_the_roots()
    {
        var order = new List<string>();
        var source = Block("source", users: ["alice"], deliverTo: ["remote"],
            modifiers: [new FakeModifier(header: (h, c) => { order.Add("source"); h.Prepend("X-Source", string.Join(",", c.Recipients)); })]);
        var root = Block("root", modifiers: [new FakeModifier(header: (h, _) => { order.Add("root"); h.Prepend("X-Root", "1"); })],
            source: [source], @default: Block("default", deliverTo: ["remote"]));
        var tx = await Begin(root, "alice@example.test", Session with { AuthUser = "alice" });
        await Accept(tx, "bob@example.test");
        await Accept(tx, "carol@example.org");
        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Equal(["root", "source"], order);
        Assert.StartsWith("X-Source: bob@example.test,carol@example.org\r\nX-Root: 1\r\nX-Internal: secret\r\n", Encoding.Latin1.GetString(decision.Header!.Block));
    }

    [Fact]
    public async Task Without_header_changes_there_is_no_replaced_header()
    {
        var tx = await Begin(Block("root", modifiers: [new FakeModifier(sender: s => s)]));
        await Accept(tx, "bob@example.test");
        Assert.Null((await tx.BodyAsync(new MemoryBlob(Message), default)).Header);

        var looking = new FakeModifier(header: (h, _) => h.Remove("X-Not-There"));
        tx = await Begin(Block("root", modifiers: [looking]));
        await Accept(tx, "bob@example.test");
        var decision = await tx.BodyAsync(new MemoryBlob(Message), default);
        Assert.Null(decision.Header);
        Assert.Equal("body line\r\n", looking.Body); // it ran, and changed nothing
    }

    [Fact]
    public async Task A_header_too_large_for_the_limit_is_refused()
    {
        var tx = new MessagePipeline("test", Block("root", modifiers: [new FakeModifier(header: (h, _) => h.Prepend("X-Added", "yes"))]),
            new SemaphoreSlim(4), TimeProvider.System, NullLogger.Instance, maxHeaderBytes: 1024).Begin(Session, ConnectDecision.Accept);
        await tx.MailAsync("alice@example.org", default);
        await Accept(tx, "bob@example.test");
        var decision = await tx.BodyAsync(new MemoryBlob("X-Long: " + new string('a', 2000) + "\r\n\r\nbody\r\n"), default);
        Assert.Equal(new SmtpReply(552, new(5, 3, 4), "Message header too large"), decision.Refusal);
    }
}
