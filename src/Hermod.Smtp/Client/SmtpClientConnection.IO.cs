using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>
/// The connection's I/O: command lines buffered and flushed in one write, replies read and parsed from the pipe,
/// each under its timeout; a broken conversation becomes the <see cref="SmtpClientException"/> that later calls rethrow.
/// </summary>
public sealed partial class SmtpClientConnection
{
    private static PipeReader CreateReader(Stream stream) =>
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true));

    /// <summary>Writes one command (transcript: <see cref="_transcript"/>), reads its reply.</summary>
    private async Task<SmtpReply> CommandAsync(string line, SmtpClientStage stage, TimeSpan replyTimeout, CancellationToken ct)
    {
        _transcript.Client(line);
        Write(line);
        await FlushAsync(stage, _options.CommandTimeout, ct);
        return await ReadReplyAsync(replyTimeout, stage, ct);
    }

    /// <summary>Buffers a command line; <see cref="FlushAsync"/> sends everything buffered in one write.</summary>
    private void Write(string line)
    {
        var span = _out.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length) + 2);
        var n = Encoding.UTF8.GetBytes(line, span);
        span[n] = (byte)'\r';
        span[n + 1] = (byte)'\n';
        _out.Advance(n + 2);
    }

    private async ValueTask FlushAsync(SmtpClientStage stage, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await WriteAsync(_out.WrittenMemory, stage, timeout, ct);
        }
        finally
        {
            _out.ResetWrittenCount();
        }
    }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, SmtpClientStage stage, TimeSpan timeout, CancellationToken ct)
    {
        if (_failure is not null)
            throw _failure;
        using var deadline = new Deadline(timeout, _options.TimeProvider, ct);
        try
        {
            await _stream.WriteAsync(bytes, deadline.Token);
        }
        catch (OperationCanceledException e) when (deadline.TimedOut)
        {
            throw Fail(stage, $"Sending to the server timed out after {timeout}", e, isTimeout: true);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Fail(stage, $"Connection lost while sending: {e.Message}", e);
        }
        catch (OperationCanceledException)
        {
            _broken = true;
            throw;
        }
    }

    private async Task<SmtpReply> ReadReplyAsync(TimeSpan timeout, SmtpClientStage stage, CancellationToken ct, bool mayHaveBeenDelivered = false)
    {
        if (_failure is not null)
            throw _failure;
        using var deadline = new Deadline(timeout, _options.TimeProvider, ct);
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(deadline.Token);
                var buffer = result.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                SmtpReply reply;
                bool complete;
                try
                {
                    complete = ReplyParser.TryParse(ref reader, out reply);
                }
                catch (InvalidDataException e)
                {
                    _reader.AdvanceTo(buffer.End);
                    throw Fail(stage, $"Protocol error: {e.Message}", e, mayHaveBeenDelivered);
                }
                if (complete)
                {
                    _reader.AdvanceTo(reader.Position);
                    _lastReply = reply;
                    _transcript.Server(reply);
                    if (reply.Code == 421)
                    {
                        _broken = true;
                        _transcript.Event("the server is closing the session");
                    }
                    return reply;
                }
                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                    throw Fail(stage, "Connection closed by the server", null, mayHaveBeenDelivered);
            }
        }
        catch (OperationCanceledException e) when (deadline.TimedOut)
        {
            throw Fail(stage, $"No reply from the server within {timeout}", e, mayHaveBeenDelivered, isTimeout: true);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Fail(stage, $"Connection lost while reading: {e.Message}", e, mayHaveBeenDelivered);
        }
        catch (OperationCanceledException)
        {
            _broken = true;
            throw;
        }
    }

    /// <summary>Marks the connection broken and builds the exception that says how (kept: later calls rethrow it).</summary>
    private SmtpClientException Fail(SmtpClientStage stage, string message, Exception? inner, bool mayHaveBeenDelivered = false, bool isTimeout = false)
    {
        if (_failure is not null)
            return _failure;
        _broken = true;
        _transcript.Event($"{stage}: {message}");
        _failure = new SmtpClientException(stage, message, _lastReply, _transcript.Lines, inner, mayHaveBeenDelivered, isTimeout);
        return _failure;
    }

    /// <summary>A timeout on the options' clock, linked with the caller's token.</summary>
    private sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource _timer;
        private readonly CancellationTokenSource _linked;

        public Deadline(TimeSpan timeout, TimeProvider time, CancellationToken ct)
        {
            _timer = new CancellationTokenSource(timeout, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _timer.Token);
        }

        public CancellationToken Token => _linked.Token;

        public bool TimedOut => _timer.IsCancellationRequested;

        public void Dispose()
        {
            _linked.Dispose();
            _timer.Dispose();
        }
    }
}
