using System.Buffers;
using BenchmarkDotNet.Attributes;
using Hermod.Core.Smtp;

namespace Hermod.Benchmarks.Protocol;

/// <summary>
/// <see cref="SmtpReply.WriteTo"/> into a reused buffer writer, the way the session answers every command: a
/// one-line reply with an enhanced status code (MAIL, RCPT), one without (354), and the multi-line EHLO reply.
/// </summary>
[MemoryDiagnoser]
public class SmtpReplyBenchmarks
{
    private static readonly SmtpReply SenderOk = new(250, new(2, 1, 0), "Sender OK");
    private static readonly SmtpReply StartData = new(354, EnhancedStatusCode.None, "End data with <CR><LF>.<CR><LF>");
    private static readonly SmtpReply Ehlo = new(250, EnhancedStatusCode.None,
        "mx.example.test Hello client.remote.test [192.0.2.1]\nPIPELINING\nSIZE 36700160\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING\nDSN\nSTARTTLS\nAUTH PLAIN LOGIN\nHELP");

    private readonly ArrayBufferWriter<byte> _output = new(4096);

    [Benchmark]
    public int OneLine() => Write(SenderOk);

    [Benchmark]
    public int WithoutEnhancedCode() => Write(StartData);

    [Benchmark]
    public int EhloElevenLines() => Write(Ehlo);

    private int Write(SmtpReply reply)
    {
        _output.ResetWrittenCount();
        reply.WriteTo(_output);
        return _output.WrittenCount;
    }
}
