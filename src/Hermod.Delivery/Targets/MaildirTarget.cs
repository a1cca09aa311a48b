using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.IO;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Transport;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Targets;

/// <summary>
/// Delivers into Maildirs (cr.yp.to/proto/maildir.html): each recipient's copy is written to <c>tmp/</c> under a unique
/// name and fsync'd, then <see cref="ITargetDelivery.CommitAsync"/> moves it to <c>new/</c> and fsyncs that directory.
/// Options: <c>path</c> (required, absolute; placeholders <c>{user}</c>, <c>{domain}</c>, <c>{address}</c>, lower case;
/// none: one shared Maildir), <c>create</c> (default true: make a missing Maildir with mode 0700; false: a missing Maildir
/// is 550 5.1.1), <c>fsync</c> (default true). The content is written byte-exact as stored (CRLF line ends).
/// </summary>
/// <remarks>
/// A recipient whose local part or domain could leave the template's directory (contains '/', '\', a control
/// character, or is "." or "..") is refused with 550 5.1.3. A failed write is a temporary 451 for that recipient
/// only: 4.3.1 when the disk is full, 4.2.2 over quota, else 4.3.0.
/// </remarks>
public sealed partial class MaildirTarget : IDeliveryTarget
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FilePermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;

    private static readonly string Host = MaildirHost(Environment.MachineName);
    private static long _deliveries;

    private readonly List<Segment> _template = [];
    private readonly bool _create;
    private readonly bool _fsync;
    private readonly TimeProvider _time;
    private readonly ILogger<MaildirTarget> _logger;

    /// <summary>Reads and validates the options; problems go to <paramref name="config"/>'s errors.</summary>
    public MaildirTarget(string name, ConfigSection config, TimeProvider time, ILogger<MaildirTarget> logger)
    {
        Name = name;
        _time = time;
        _logger = logger;
        config.Known("type", "path", "create", "fsync");
        var path = config.RequiredString("path");
        if (path.Length > 0)
            ParseTemplate(config, path);
        _create = config.Bool("create") ?? true;
        _fsync = config.Bool("fsync") ?? true;
    }

    public string Name { get; }

    public Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken) =>
        Task.FromResult<ITargetDelivery>(new Delivery(this, message));

    private enum Placeholder { None, User, Domain, Address }

    private readonly record struct Segment(string Literal, Placeholder Placeholder);

    private void ParseTemplate(ConfigSection config, string path)
    {
        if (!path.StartsWith('/'))
        {
            config.Error("path", $"'{path}' is not an absolute path");
            return;
        }
        var literal = new StringBuilder();
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '}')
            {
                config.Error("path", $"'{path}' has a '}}' without '{{'");
                return;
            }
            if (c != '{')
            {
                literal.Append(c);
                continue;
            }
            var end = path.IndexOf('}', i);
            var placeholder = end < 0 ? Placeholder.None : path[(i + 1)..end] switch
            {
                "user" => Placeholder.User,
                "domain" => Placeholder.Domain,
                "address" => Placeholder.Address,
                _ => Placeholder.None,
            };
            if (placeholder == Placeholder.None)
            {
                config.Error("path", $"'{path}' has an unknown placeholder at {i} (known: {{user}}, {{domain}}, {{address}})");
                return;
            }
            if (literal.Length > 0)
                _template.Add(new Segment(literal.ToString(), Placeholder.None));
            literal.Clear();
            _template.Add(new Segment("", placeholder));
            i = end;
        }
        if (literal.Length > 0)
            _template.Add(new Segment(literal.ToString(), Placeholder.None));
    }

    /// <summary>The recipient's Maildir root, or the reason it is refused.</summary>
    private string? Locate(string address, string jobDomain, out string? refusal)
    {
        var at = address.LastIndexOf('@');
        var user = (at < 0 ? address : address[..at]).ToLowerInvariant();
        var domain = (at < 0 ? jobDomain : address[(at + 1)..]).ToLowerInvariant();
        refusal = Unsafe(user, "local part") ?? Unsafe(domain, "domain");
        if (refusal is not null)
            return null;
        var whole = at < 0 ? user + "@" + domain : address.ToLowerInvariant();
        var path = new StringBuilder();
        foreach (var segment in _template)
            path.Append(segment.Placeholder switch
            {
                Placeholder.User => user,
                Placeholder.Domain => domain,
                Placeholder.Address => whole,
                _ => segment.Literal,
            });
        return path.ToString();
    }

    /// <summary>Why <paramref name="value"/> may not become part of a path (null: it may).</summary>
    private static string? Unsafe(string value, string what)
    {
        if (value.Length == 0)
            return $"empty {what}";
        if (value is "." or "..")
            return $"{what} '{value}' is not a mailbox name";
        foreach (var c in value)
            if (c is '/' or '\\' || char.IsControl(c))
                return $"{what} contains a character not allowed in a mailbox name";
        return null;
    }

    /// <summary>Makes the Maildir (and missing parents) with mode 0700; fsyncs each new entry's parent directory.</summary>
    private void Create(string root)
    {
        var missing = new List<string>();
        for (var dir = root; dir is not null && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir))
            missing.Add(dir);
        foreach (var dir in (string[])[root, Path.Combine(root, "tmp"), Path.Combine(root, "new"), Path.Combine(root, "cur")])
        {
            if (Directory.Exists(dir))
                continue;
            if (OperatingSystem.IsWindows())
                Directory.CreateDirectory(dir);
            else
                Directory.CreateDirectory(dir, DirectoryMode);
            if (dir != root)
                missing.Add(dir);
        }
        if (!_fsync)
            return;
        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in missing)
            if (Path.GetDirectoryName(dir) is { } parent)
                parents.Add(parent);
        foreach (var parent in parents)
            DirectorySync.Flush(parent);
    }

    private static bool IsMaildir(string root) =>
        Directory.Exists(Path.Combine(root, "tmp")) && Directory.Exists(Path.Combine(root, "new")) && Directory.Exists(Path.Combine(root, "cur"));

    /// <summary>A unique Maildir name: <c>SECONDS.M{µs}P{pid}Q{n}R{random}.HOST</c> (the modern form of the spec).</summary>
    private string UniqueName()
    {
        var now = _time.GetUtcNow();
        var seconds = now.ToUnixTimeSeconds();
        var micros = now.Ticks / 10 % 1_000_000;
        var n = Interlocked.Increment(ref _deliveries);
        return string.Create(CultureInfo.InvariantCulture,
            $"{seconds}.M{micros}P{Environment.ProcessId}Q{n}R{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.{Host}");
    }

    /// <summary>The host name as the Maildir spec wants it in a file name: '/' as \057, ':' as \072.</summary>
    private static string MaildirHost(string host)
    {
        var clean = host.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);
        return clean.Length > 0 ? clean : "localhost";
    }

    /// <summary>The temporary reply for a failed write: the OS error text, never a path or a stack trace.</summary>
    private static UpstreamReply WriteFailed(Exception e) => e switch
    {
        IOException { HResult: ENOSPC } => new UpstreamReply(null, new SmtpReply(451, new(4, 3, 1), "maildir write failed: no space left on device")),
        IOException { HResult: EDQUOT } => new UpstreamReply(null, new SmtpReply(451, new(4, 2, 2), "maildir write failed: quota exceeded")),
        IOException { HResult: > 0 and < 4096 } io => new UpstreamReply(null, new SmtpReply(451, new(4, 3, 0), "maildir write failed: " + Marshal.GetPInvokeErrorMessage(io.HResult))),
        UnauthorizedAccessException => new UpstreamReply(null, new SmtpReply(451, new(4, 3, 0), "maildir write failed: permission denied")),
        DirectoryNotFoundException => new UpstreamReply(null, new SmtpReply(451, new(4, 3, 0), "maildir write failed: maildir directory missing")),
        _ => new UpstreamReply(null, new SmtpReply(451, new(4, 3, 0), "maildir write failed: local I/O error")),
    };

    private sealed class Copy(QueuedRecipient recipient, string root)
    {
        public QueuedRecipient Recipient { get; } = recipient;
        public string Root { get; } = root;
        public string? FileName { get; set; }
        public bool Committed { get; set; }
        public string TmpPath => Path.Combine(Root, "tmp", FileName!);
        public string NewPath => Path.Combine(Root, "new", FileName!);
    }

    private sealed class Delivery(MaildirTarget target, TargetMessage message) : ITargetDelivery
    {
        private readonly List<Copy> _copies = [];

        private string MessageId => message.Message.Envelope.Id;

        public Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken)
        {
            var root = target.Locate(recipient.Address, message.Domain, out var refusal);
            if (root is null)
            {
                LogRefused(target._logger, MessageId, target.Name, recipient.Address, refusal!);
                return Task.FromResult<UpstreamReply?>(new UpstreamReply(null, new SmtpReply(550, new(5, 1, 3), $"bad mailbox name: {refusal}")));
            }
            try
            {
                if (!IsMaildir(root))
                {
                    if (!target._create)
                    {
                        LogRefused(target._logger, MessageId, target.Name, recipient.Address, "no maildir at " + root);
                        return Task.FromResult<UpstreamReply?>(new UpstreamReply(null, new SmtpReply(550, new(5, 1, 1), "no such mailbox")));
                    }
                    target.Create(root);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogWriteFailed(target._logger, e, MessageId, target.Name, recipient.Address, root);
                return Task.FromResult<UpstreamReply?>(WriteFailed(e));
            }
            _copies.Add(new Copy(recipient, root));
            return Task.FromResult<UpstreamReply?>(null);
        }

        public async Task<TransportResult> BodyAsync(CancellationToken cancellationToken)
        {
            var replies = new Dictionary<long, UpstreamReply>(_copies.Count);
            foreach (var copy in _copies)
            {
                copy.FileName = target.UniqueName();
                try
                {
                    await WriteAsync(copy.TmpPath, cancellationToken);
                    replies[copy.Recipient.DeliveryId] = new UpstreamReply(null, new SmtpReply(250, new(2, 0, 0), "delivered to maildir"));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogWriteFailed(target._logger, e, MessageId, target.Name, copy.Recipient.Address, copy.Root);
                    TryDelete(copy.TmpPath);
                    copy.FileName = null;
                    replies[copy.Recipient.DeliveryId] = WriteFailed(e);
                }
                catch (OperationCanceledException)
                {
                    TryDelete(copy.TmpPath);
                    copy.FileName = null;
                    throw;
                }
            }
            return new TransportResult(replies, DsnSupported: false);
        }

        private async Task WriteAsync(string path, CancellationToken cancellationToken)
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 64 * 1024,
                Options = FileOptions.Asynchronous,
            };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = FilePermissions;
            await using var file = new FileStream(path, options);
            await message.WriteContentAsync(file, cancellationToken);
            await file.FlushAsync(cancellationToken);
            if (target._fsync)
                file.Flush(flushToDisk: true);
        }

        public Task CommitAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var directories = new HashSet<string>(StringComparer.Ordinal);
            var current = "";
            try
            {
                foreach (var copy in _copies)
                {
                    if (copy.FileName is null || copy.Committed)
                        continue;
                    current = copy.Root;
                    // no overwrite: link(2) then unlink(2), as the spec says; the name is unique, so this never collides
                    File.Move(copy.TmpPath, copy.NewPath, overwrite: false);
                    copy.Committed = true;
                    directories.Add(Path.Combine(copy.Root, "new"));
                }
                if (target._fsync)
                    foreach (var directory in directories)
                    {
                        current = Path.GetDirectoryName(directory)!;
                        DirectorySync.Flush(directory);
                    }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the caller turns this into every recipient's temporary reply: the reason without local paths
                LogCommitFailed(target._logger, e, MessageId, target.Name, current);
                throw new IOException(WriteFailed(e).Reply.Text.Replace("write", "commit", StringComparison.Ordinal), e);
            }
            return Task.CompletedTask;
        }

        public Task AbortAsync(CancellationToken cancellationToken)
        {
            RemoveUncommitted();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            RemoveUncommitted();
            return ValueTask.CompletedTask;
        }

        private void RemoveUncommitted()
        {
            foreach (var copy in _copies)
                if (copy.FileName is not null && !copy.Committed)
                {
                    TryDelete(copy.TmpPath);
                    copy.FileName = null;
                }
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // a stale file in tmp/ is harmless: Maildir readers ignore tmp/
            }
        }
    }

    [LoggerMessage(3401, LogLevel.Debug, "{MessageId}: maildir target {Target} refused {Recipient}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string messageId, string target, string recipient, string reason);

    [LoggerMessage(3402, LogLevel.Error, "{MessageId}: maildir target {Target} could not deliver to {Recipient} in {Maildir}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string messageId, string target, string recipient, string maildir);

    [LoggerMessage(3403, LogLevel.Error, "{MessageId}: maildir target {Target} could not commit in {Maildir}")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, string messageId, string target, string maildir);
}
