using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Extensions;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Microsoft.Extensions.Logging;

namespace Hermod.Samples.Extensions;

/// <summary>
/// A delivery journal: appends one JSON line per delivered recipient, <c>{"id", "sender", "recipient", "size",
/// "sha256"}</c> (size and SHA-256 of the content as delivered: trace fields, header, body), and fsyncs it before the
/// delivery counts. Option: <c>path</c> (required; a relative path is taken from the working directory, like
/// <c>data_dir</c>). The file is opened (and created, mode 0600) by <see cref="StartAsync(CancellationToken)"/> and closed by
/// <see cref="StopAsync"/>; check-config only validates the option.
/// </summary>
/// <remarks>
/// Lines are written at commit, under one lock, and fsync'd; a failed write is cut off again and the delivery is
/// retried. A crash between the fsync and the queue recording the delivery repeats the lines: at least once. The
/// directory entry of a new journal is not fsync'd (Hermod's helper for that, DirectorySync, is internal).
/// </remarks>
public sealed partial class JsonLinesTarget : IDeliveryTarget, IComponentLifecycle, IAsyncDisposable
{
    private readonly string _path;
    private readonly ILogger<JsonLinesTarget> _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private FileStream? _file;
    private long _written;

    /// <summary>Reads and validates the options; opens nothing (see <see cref="StartAsync(CancellationToken)"/>).</summary>
    public JsonLinesTarget(string name, ConfigSection config, ILogger<JsonLinesTarget> logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        Name = name;
        _logger = logger;
        config.Known("type", "path");
        var path = config.RequiredString("path");
        if (path.Length > 0 && (path.Contains('\0', StringComparison.Ordinal) || path.EndsWith('/') || path.EndsWith('\\')))
            config.Error("path", $"'{path}' is not a file path");
        else if (path.Length > 0 && Directory.Exists(path))
            config.Error("path", $"'{path}' is a directory, not a file");
        _path = config.Errors.Count == 0 ? Path.GetFullPath(path) : path;
    }

    public string Name { get; }

    /// <summary>Opens the journal for appending (making it and its directory when missing).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate, // not Append: a failed write must be cut off again (SetLength)
            Access = FileAccess.Write,
            Share = FileShare.Read,
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        FileStream file;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            file = new FileStream(_path, options);
            file.Seek(0, SeekOrigin.End);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"jsonl target {Name}: cannot open {_path}: permission denied", e); // the CLI reports IOException as "cannot start"
        }
        Volatile.Write(ref _file, file);
        LogStarted(_logger, Name, _path, file.Length);
        return Task.CompletedTask;
    }

    /// <summary>Flushes and closes the journal; deliveries after this are deferred (451) until the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (await CloseAsync())
            LogStopped(_logger, Name, _path, Interlocked.Read(ref _written));
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync(); // after StopAsync, or instead of it (check-config, a failed start)
    }

    private async Task<bool> CloseAsync()
    {
        await _lock.WaitAsync(CancellationToken.None);
        try
        {
            if (_file is not { } file)
                return false;
            _file = null;
            await using (file)
                file.Flush(flushToDisk: true);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken) =>
        Task.FromResult<ITargetDelivery>(new Delivery(this, message));

    /// <summary>Appends <paramref name="lines"/> and fsyncs; on failure the file is cut back to where it was.</summary>
    private async Task AppendAsync(ReadOnlyMemory<byte> lines, int count, string messageId, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var file = _file ?? throw new IOException("journal closed");
            var start = file.Position;
            try
            {
                // not cancelled half-way: a few hundred bytes, and a line is either all there or cut off
                await file.WriteAsync(lines, CancellationToken.None);
                await file.FlushAsync(CancellationToken.None);
                file.Flush(flushToDisk: true);
            }
            catch (IOException e)
            {
                LogWriteFailed(_logger, e, messageId, Name, _path);
                TryTruncate(file, start);
                throw new IOException("journal write failed", e); // becomes every recipient's 4.3.0: no local path in it
            }
            Interlocked.Add(ref _written, count);
        }
        finally
        {
            _lock.Release();
        }
    }

    private static void TryTruncate(FileStream file, long length)
    {
        try
        {
            file.SetLength(length);
            file.Position = length;
        }
        catch (IOException)
        {
            // the journal may hold a partial line now; the next start still appends after it
        }
    }

    private bool IsOpen => Volatile.Read(ref _file) is not null;

    private sealed class Delivery(JsonLinesTarget target, TargetMessage message) : ITargetDelivery
    {
        private readonly List<QueuedRecipient> _recipients = [];
        private ReadOnlyMemory<byte> _lines;

        private string MessageId => message.Message.Envelope.Id;

        public Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken)
        {
            if (!target.IsOpen)
                return Task.FromResult<UpstreamReply?>(new UpstreamReply(null, new SmtpReply(451, new(4, 3, 0), "journal not open")));
            _recipients.Add(recipient);
            return Task.FromResult<UpstreamReply?>(null);
        }

        public async Task<TransportResult> BodyAsync(CancellationToken cancellationToken)
        {
            long size;
            string sha256;
            await using (var content = new HashingStream())
            {
                await message.WriteContentAsync(content, cancellationToken);
                (size, sha256) = (content.Length, content.Hash());
            }
            var envelope = message.Message.Envelope;
            var buffer = new ArrayBufferWriter<byte>();
            var replies = new Dictionary<long, UpstreamReply>(_recipients.Count);
            foreach (var recipient in _recipients)
            {
                await using (var json = new Utf8JsonWriter(buffer))
                {
                    json.WriteStartObject();
                    json.WriteString("id", envelope.Id);
                    json.WriteString("sender", envelope.Sender);
                    json.WriteString("recipient", recipient.Address);
                    json.WriteNumber("size", size);
                    json.WriteString("sha256", sha256);
                    json.WriteEndObject();
                }
                buffer.Write("\n"u8);
                replies[recipient.DeliveryId] = new UpstreamReply(null, new SmtpReply(250, new(2, 0, 0), "written to journal"));
            }
            _lines = buffer.WrittenMemory;
            return new TransportResult(replies, DsnSupported: false);
        }

        public Task CommitAsync(CancellationToken cancellationToken) =>
            _lines.IsEmpty ? Task.CompletedTask : target.AppendAsync(_lines, _recipients.Count, MessageId, cancellationToken);

        public Task AbortAsync(CancellationToken cancellationToken)
        {
            _lines = default; // nothing was written yet
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A write-only stream that counts and hashes what goes through it: the content is never held in memory.</summary>
    private sealed class HashingStream : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public string Hash() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _hash.Dispose();
            base.Dispose(disposing);
        }
    }

    [LoggerMessage(9111, LogLevel.Information, "jsonl target {Target} started: appending to {Path} ({Bytes} bytes)")]
    private static partial void LogStarted(ILogger logger, string target, string path, long bytes);

    [LoggerMessage(9112, LogLevel.Information, "jsonl target {Target} stopped: {Path} closed after {Lines} line(s)")]
    private static partial void LogStopped(ILogger logger, string target, string path, long lines);

    [LoggerMessage(9113, LogLevel.Error, "{MessageId}: jsonl target {Target} could not write to {Path}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string messageId, string target, string path);
}
