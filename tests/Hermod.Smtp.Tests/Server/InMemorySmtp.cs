using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Security;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Server;
using Hermod.TestKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Smtp.Tests.Server;

/// <summary>
/// One SMTP session with no socket, store or policy behind it — the protocol rules tested without Kestrel and SQLite:
/// the session reads and writes a pair of <see cref="Pipe"/>s, and has a <see cref="FakePipeline"/>, a
/// <see cref="FakeStore"/>, a <see cref="FakeTimeProvider"/> and real <see cref="HermodMetrics"/>. The test is the
/// client: it sends bytes and expects replies (a regex anchored at the start, as the transcript tests write them).
/// </summary>
internal sealed class InMemorySmtp : SmtpDialogue, IAsyncDisposable
{
    public const string Hostname = "mx.example.test";
    public const string User = "alice";
    public const string Password = "secret";

    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);
    private static readonly PipeOptions Unsynchronized = new(useSynchronizationContext: false);

    private readonly Pipe _toServer = new(Unsynchronized);
    private readonly Pipe _toClient = new(Unsynchronized);
    private readonly CountingWriter _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HermodMetrics _metrics = new();
    private readonly MeterListener _meters = new();
    private readonly ConcurrentQueue<string> _rejections = new();
    private readonly LogCapture _logs = new();
    private readonly ILoggerFactory _loggers;
    private Task _session = Task.CompletedTask;
    private long _accepted;

    private InMemorySmtp()
    {
        _output = new CountingWriter(_toClient.Writer);
        _loggers = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs));
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument == _metrics.Rejections || instrument == _metrics.MessagesAccepted)
                listener.EnableMeasurementEvents(instrument);
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument == _metrics.MessagesAccepted)
                Interlocked.Add(ref _accepted, value);
            else
                foreach (var tag in tags)
                    if (tag.Key == "reason")
                        _rejections.Enqueue((string)tag.Value!);
        });
        _meters.Start();
    }

    public SmtpOptions Options { get; } = new() { LocalDomains = ["example.test"] };

    public ListenerOptions Listener { get; } = new() { Name = "mx" };

    public FakePipeline Pipeline { get; } = new();

    public FakeStore Store { get; } = new();

    /// <summary>Null unless a test turns cut-through on (<see cref="UseCutThrough"/>).</summary>
    public FakeCutThrough? CutThrough { get; private set; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>How many times the session flushed its replies.</summary>
    public int Flushes => _output.Flushes;

    /// <summary>The reason tag of each rejection counted, in order.</summary>
    public IReadOnlyList<string> Rejections => [.. _rejections];

    /// <summary>Messages counted as accepted.</summary>
    public long MessagesAccepted => Interlocked.Read(ref _accepted);

    public IReadOnlyList<LogEntry> Logs => _logs.Entries;

    /// <summary>A session on the default ingress listener ("mx", local domain example.test), greeted: the 220 is read.</summary>
    public static async Task<InMemorySmtp> StartAsync(Action<InMemorySmtp>? configure = null)
    {
        var smtp = Open(configure);
        await smtp.ExpectAsync($"220 {Hostname} ESMTP Hermod");
        return smtp;
    }

    /// <summary>A session whose greeting (or refusal) the test reads itself.</summary>
    public static InMemorySmtp Open(Action<InMemorySmtp>? configure = null)
    {
        var smtp = new InMemorySmtp();
        configure?.Invoke(smtp);
        smtp.Run();
        return smtp;
    }

    public FakeCutThrough UseCutThrough() => CutThrough ??= new FakeCutThrough();

    private void Run()
    {
        var context = new SmtpServerContext(Options, Hostname, Store, new OnePassword(), certificate: null, _metrics, Time, _loggers,
            new PipelineSet(new Dictionary<string, IMessagePipeline>(), Pipeline), CutThrough);
        var session = new SmtpSession(context, Listener, new Transport(_toServer.Reader, _output), IPAddress.Loopback, _stopping.Token);
        _session = Task.Run(async () =>
        {
            try
            {
                await session.RunAsync(_closed.Token);
            }
            finally
            {
                await _toServer.Reader.CompleteAsync();
                await _toClient.Writer.CompleteAsync();
            }
        });
    }

    public override async Task SendRawAsync(byte[] bytes) => await _toServer.Writer.WriteAsync(bytes);

    /// <summary>The client closes its side of the connection.</summary>
    public async Task CloseAsync() => await _toServer.Writer.CompleteAsync();

    /// <summary>The server shuts down.</summary>
    public void Stop() => _stopping.Cancel();

    /// <summary>True when the session ended and closed the connection within the timeout (what it still wrote is skipped).</summary>
    public async Task<bool> IsClosedAsync()
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        try
        {
            while (true)
            {
                var result = await _toClient.Reader.ReadAsync(timeout.Token);
                _toClient.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    await _session.WaitAsync(timeout.Token);
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    protected override async Task<string> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        var reader = _toClient.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } lf)
            {
                var line = Encoding.UTF8.GetString(buffer.Slice(0, lf)).TrimEnd('\r');
                reader.AdvanceTo(buffer.GetPosition(1, lf));
                return line;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
                throw new IOException("the session closed the connection; pending: " + Encoding.UTF8.GetString(buffer));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _toServer.Writer.CompleteAsync();
        await _closed.CancelAsync();
        await _session.WaitAsync(ReplyTimeout);
        await _toClient.Reader.CompleteAsync();
        _meters.Dispose();
        _metrics.Dispose();
        _loggers.Dispose();
        _closed.Dispose();
        _stopping.Dispose();
    }

    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>The session's output, counting its flushes (one per batch of commands, PIPELINING).</summary>
    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        private int _flushes;

        public int Flushes => Volatile.Read(ref _flushes);

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _flushes);
            return inner.FlushAsync(cancellationToken);
        }
    }

    /// <summary>One user, <see cref="User"/> with <see cref="Password"/>.</summary>
    private sealed class OnePassword : IPasswordVerifier
    {
        public bool Verify(string user, string password) => user == User && password == Password;
    }
}
