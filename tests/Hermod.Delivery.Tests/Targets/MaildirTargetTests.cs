using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Delivery.Targets;
using Hermod.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Delivery.Tests.Targets;

/// <summary>The maildir target, with what it wrote read back by Python's mailbox.Maildir.</summary>
public sealed class MaildirTargetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hermod-maildir-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Root => Path.Combine(_dir, "mail");

    private static MaildirTarget Target(string yaml)
    {
        var config = ConfigSection.Parse("maildir", yaml);
        var target = new MaildirTarget("local", config, TimeProvider.System, NullLogger<MaildirTarget>.Instance);
        Assert.Empty(config.Errors);
        return target;
    }

    private static List<string> Errors(string yaml)
    {
        var config = ConfigSection.Parse("maildir", yaml);
        _ = new MaildirTarget("local", config, TimeProvider.System, NullLogger<MaildirTarget>.Instance);
        return [.. config.Errors];
    }

    /// <summary>Each Maildir as mailbox.Maildir sees it: messages (content, whether in new/) and the names left in tmp/.</summary>
    private static async Task<Dictionary<string, (List<(byte[] Content, bool InNew)> Messages, List<string> Tmp)>> ReadAsync(params string[] maildirs)
    {
        var result = await Peers.RunAsync(Peers.Python, [Peers.Script("scripts/read_maildir.py"), .. maildirs], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Describe());
        using var json = JsonDocument.Parse(result.Stdout);
        var boxes = new Dictionary<string, (List<(byte[], bool)>, List<string>)>();
        foreach (var box in json.RootElement.EnumerateObject())
            boxes[box.Name] = (
                [.. box.Value.GetProperty("messages").EnumerateArray().Select(m => (Convert.FromBase64String(m.GetProperty("content").GetString()!), m.GetProperty("in_new").GetBoolean()))],
                [.. box.Value.GetProperty("tmp").EnumerateArray().Select(t => t.GetString()!)]);
        return boxes;
    }

    private List<string> FilesUnder(string dir) =>
        [.. Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_dir, f)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Two_recipients_in_two_domains_each_get_one_exact_copy_in_new()
    {
        var target = Target($"type: maildir\npath: {Root}/{{domain}}/{{user}}\n");
        var content = TargetKit.Content("two domains", 200_000);
        var message = TargetKit.Message(content, "one.test", "Alice@One.TEST", "bob@two.test");

        var run = await TargetKit.DeliverAsync(target, message, [TargetKit.Recipient(1, "Alice@One.TEST"), TargetKit.Recipient(2, "bob@two.test")]);

        Assert.Empty(run.Refused);
        Assert.Equal(2, run.Body!.Replies.Count);
        foreach (var reply in run.Body.Replies.Values)
            Assert.Equal((250, "2.0.0", "delivered to maildir"), (reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text));
        var alice = Path.Combine(Root, "one.test", "alice");
        var bob = Path.Combine(Root, "two.test", "bob");
        var boxes = await ReadAsync(alice, bob);
        foreach (var box in new[] { alice, bob })
        {
            var (content1, inNew) = Assert.Single(boxes[box].Messages);
            Assert.True(inNew, $"{box}: the message is not in new/");
            Assert.Equal(content, content1);
            Assert.Empty(boxes[box].Tmp);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(box, "new")));
        }
        Assert.Equal(2, FilesUnder(Root).Count); // one file per maildir, nothing else
    }

    [Fact]
    public async Task A_path_without_placeholders_is_one_shared_maildir_with_a_copy_per_recipient()
    {
        var target = Target($"type: maildir\npath: {Root}\nfsync: false\n");
        var content = TargetKit.Content("shared", 2_000);

        var run = await TargetKit.DeliverAsync(target, TargetKit.Message(content, "a.test", "x@a.test", "y@b.test"),
            [TargetKit.Recipient(1, "x@a.test"), TargetKit.Recipient(2, "y@b.test")]);

        Assert.All(run.Body!.Replies.Values, r => Assert.Equal(250, r.Reply.Code));
        var box = (await ReadAsync(Root))[Root];
        Assert.Equal(2, box.Messages.Count);
        Assert.All(box.Messages, m => Assert.Equal(content, m.Content));
    }

    [Fact]
    public async Task The_address_placeholder_is_the_whole_address_in_lower_case()
    {
        var target = Target($"type: maildir\npath: {Root}/{{address}}\n");
        var content = TargetKit.Content("address", 1_000);

        await TargetKit.DeliverAsync(target, TargetKit.Message(content, "a.test", "Carol@A.Test"), [TargetKit.Recipient(1, "Carol@A.Test")]);

        var maildir = Path.Combine(Root, "carol@a.test");
        Assert.Equal(content, Assert.Single((await ReadAsync(maildir))[maildir].Messages).Content);
    }

    [Fact]
    public async Task Abort_and_dispose_without_commit_leave_no_message()
    {
        var target = Target($"type: maildir\npath: {Root}/{{domain}}/{{user}}\n");
        var content = TargetKit.Content("aborted", 10_000);
        var message = TargetKit.Message(content, "a.test", "x@a.test");

        var run = await TargetKit.DeliverAsync(target, message, [TargetKit.Recipient(1, "x@a.test")], commit: false);
        Assert.Equal(250, run.Body!.Replies[1].Reply.Code); // written to tmp/, then aborted
        await using (var delivery = await target.StartAsync(message, default))
        {
            Assert.Null(await delivery.AddRecipientAsync(TargetKit.Recipient(2, "x@a.test"), default));
            await delivery.BodyAsync(default);
            Assert.Single(Directory.GetFiles(Path.Combine(Root, "a.test", "x", "tmp")));
        } // disposed, neither committed nor aborted

        var maildir = Path.Combine(Root, "a.test", "x");
        var box = (await ReadAsync(maildir))[maildir];
        Assert.Empty(box.Messages);
        Assert.Empty(box.Tmp);
        Assert.Empty(FilesUnder(Root));
    }

    [Theory]
    [InlineData("../x@a.test")]
    [InlineData("a/b@a.test")]
    [InlineData("a\\b@a.test")]
    [InlineData("..@a.test")]
    [InlineData(".@a.test")]
    [InlineData("x@..")]
    [InlineData("x@a.test/../..")]
    [InlineData("nul\0l@a.test")]
    [InlineData("@a.test")]
    public async Task A_local_part_or_domain_that_could_leave_the_root_is_refused_and_nothing_is_written(string address)
    {
        var target = Target($"type: maildir\npath: {_dir}/mail/{{domain}}/{{user}}\n");
        var content = TargetKit.Content("traversal", 1_000);

        var run = await TargetKit.DeliverAsync(target, TargetKit.Message(content, "a.test", address, "ok@a.test"),
            [TargetKit.Recipient(1, address), TargetKit.Recipient(2, "ok@a.test")]);

        var refused = run.Refused[1];
        Assert.Equal((550, "5.1.3"), (refused.Reply.Code, refused.Reply.Enhanced.ToString()));
        Assert.Equal(250, run.Body!.Replies[2].Reply.Code);
        Assert.False(run.Body.Replies.ContainsKey(1));
        // the only file anywhere under the test directory is ok's message
        var file = Assert.Single(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories));
        Assert.StartsWith(Path.Combine(_dir, "mail", "a.test", "ok", "new") + "/", file);
        Assert.Equal(["mail"], Directory.GetDirectories(_dir).Select(Path.GetFileName));
        Assert.Equal(["a.test"], Directory.GetDirectories(Path.Combine(_dir, "mail")).Select(Path.GetFileName));
        Assert.Equal(["ok"], Directory.GetDirectories(Path.Combine(_dir, "mail", "a.test")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task With_create_false_a_missing_maildir_is_no_such_mailbox_and_an_existing_one_is_delivered_to()
    {
        var target = Target($"type: maildir\npath: {Root}/{{user}}\ncreate: false\n");
        foreach (var sub in new[] { "cur", "new", "tmp" })
            Directory.CreateDirectory(Path.Combine(Root, "here", sub));
        var content = TargetKit.Content("create false", 1_000);

        var run = await TargetKit.DeliverAsync(target, TargetKit.Message(content, "a.test", "missing@a.test", "here@a.test"),
            [TargetKit.Recipient(1, "missing@a.test"), TargetKit.Recipient(2, "here@a.test")]);

        Assert.Equal((550, "5.1.1"), (run.Refused[1].Reply.Code, run.Refused[1].Reply.Enhanced.ToString()));
        Assert.False(Directory.Exists(Path.Combine(Root, "missing")));
        Assert.Equal(250, run.Body!.Replies[2].Reply.Code);
        var here = Path.Combine(Root, "here");
        Assert.Equal(content, Assert.Single((await ReadAsync(here))[here].Messages).Content);
    }

    [Fact]
    public async Task A_failed_write_is_a_temporary_reply_for_that_recipient_only()
    {
        var target = Target($"type: maildir\npath: {Root}/{{user}}\n");
        var content = TargetKit.Content("broken", 1_000);
        var message = TargetKit.Message(content, "a.test", "broken@a.test", "fine@a.test");

        await using var delivery = await target.StartAsync(message, default);
        Assert.Null(await delivery.AddRecipientAsync(TargetKit.Recipient(1, "broken@a.test"), default));
        Assert.Null(await delivery.AddRecipientAsync(TargetKit.Recipient(2, "fine@a.test"), default));
        Directory.Delete(Path.Combine(Root, "broken", "tmp")); // the maildir breaks between RCPT and DATA
        var result = await delivery.BodyAsync(default);
        await delivery.CommitAsync(default);

        var broken = result.Replies[1];
        Assert.Equal((451, "4.3.0"), (broken.Reply.Code, broken.Reply.Enhanced.ToString()));
        Assert.DoesNotContain(Root, broken.Reply.Text, StringComparison.Ordinal); // no local paths in a reply that may reach a DSN
        Assert.DoesNotContain(" at ", broken.Reply.Text, StringComparison.Ordinal);
        Assert.Equal(250, result.Replies[2].Reply.Code);
        var fine = Path.Combine(Root, "fine");
        Assert.Equal(content, Assert.Single((await ReadAsync(fine))[fine].Messages).Content);
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "broken", "new")));
    }

    [Fact]
    public async Task A_failed_commit_is_a_temporary_failure_without_local_paths_and_leaves_nothing_in_tmp()
    {
        var target = Target($"type: maildir\npath: {Root}/{{user}}\n");
        var message = TargetKit.Message(TargetKit.Content("commit fails", 1_000), "a.test", "x@a.test");
        var recipients = new[] { TargetKit.Recipient(1, "x@a.test") };
        await using (var delivery = await target.StartAsync(message, default))
        {
            Assert.Null(await delivery.AddRecipientAsync(recipients[0], default));
            Assert.Equal(250, (await delivery.BodyAsync(default)).Replies[1].Reply.Code);
            Directory.Delete(Path.Combine(Root, "x", "new")); // gone before the rename
            var e = await Assert.ThrowsAsync<IOException>(() => delivery.CommitAsync(default));
            Assert.DoesNotContain(Root, e.Message, StringComparison.Ordinal);
            await delivery.AbortAsync(default);
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "x", "tmp")));

        // through the caller: every accepted recipient is a temporary failure (new/ goes away while the body is written)
        var breaking = message with
        {
            WriteContentAsync = async (stream, ct) =>
            {
                await message.WriteContentAsync(stream, ct);
                Directory.Delete(Path.Combine(Root, "x", "new"));
            },
        };
        var result = await DeliveryTargets.DeliverAsync(target, breaking, recipients, default);
        var reply = result.Replies[1];
        Assert.Equal((0, "4.3.0"), (reply.Reply.Code, reply.Reply.Enhanced.ToString()));
        Assert.DoesNotContain(Root, reply.Reply.Text, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "x", "tmp")));
    }

    [Fact]
    public async Task A_recipient_without_a_domain_uses_the_job_domain()
    {
        var target = Target($"type: maildir\npath: {Root}/{{domain}}/{{user}}\n");
        var content = TargetKit.Content("postmaster", 500);

        await TargetKit.DeliverAsync(target, TargetKit.Message(content, "Job.Test", "Postmaster"), [TargetKit.Recipient(1, "Postmaster")]);

        var maildir = Path.Combine(Root, "job.test", "postmaster");
        Assert.Equal(content, Assert.Single((await ReadAsync(maildir))[maildir].Messages).Content);
    }

    [Theory]
    [InlineData("type: maildir\ncreate: true\n", "maildir.path: is required")]
    [InlineData("type: maildir\npath: /var/mail/{user}\ncreate: maybe\n", "maildir.create: 'maybe' is not true or false")]
    [InlineData("type: maildir\npath: /var/mail/{user}\nfsync: yes please\n", "maildir.fsync:")]
    [InlineData("type: maildir\npath: var/mail/{user}\n", "maildir.path: 'var/mail/{user}' is not an absolute path")]
    [InlineData("type: maildir\npath: /var/mail/{login}\n", "maildir.path: '/var/mail/{login}' has an unknown placeholder")]
    [InlineData("type: maildir\npath: /var/mail/{user\n", "maildir.path: '/var/mail/{user' has an unknown placeholder")]
    [InlineData("type: maildir\npath: /var/mail/user}\n", "maildir.path: '/var/mail/user}' has a '}' without '{'")]
    [InlineData("type: maildir\npath: /var/mail/{user}\nmode: 0700\n", "maildir.mode: unknown key")]
    public void Config_errors_name_the_key(string yaml, string expected)
    {
        var errors = Errors(yaml);
        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"expected '{expected}' in:\n{string.Join("\n", errors)}");
    }

    [Fact]
    public void A_valid_config_has_no_errors()
    {
        Assert.Empty(Errors("type: maildir\npath: /var/mail/{domain}/{user}\ncreate: false\nfsync: false\n"));
    }
}
