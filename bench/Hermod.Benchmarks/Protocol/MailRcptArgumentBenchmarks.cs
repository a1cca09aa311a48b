using BenchmarkDotNet.Attributes;
using Hermod.Smtp.Protocol;

namespace Hermod.Benchmarks.Protocol;

/// <summary>
/// A MAIL or RCPT argument read the way the session reads it: <see cref="PathParser.TrySplit"/>, the mailbox, then
/// <see cref="MailParameters"/> or <see cref="RcptParameters"/>. Per argument, with allocations.
/// </summary>
[MemoryDiagnoser]
public class MailRcptArgumentBenchmarks
{
    [Params(
        "FROM:<sender@remote.test>",
        "FROM:<sender@remote.test> SIZE=1024 BODY=8BITMIME",
        "FROM:<> RET=HDRS ENVID=QQ+2B1 SMTPUTF8",
        "TO:<user@example.test>",
        "TO:<other@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;other@example.test")]
    public string Argument { get; set; } = "";

    [Benchmark]
    public bool Parse() => Argument.StartsWith("FROM:", StringComparison.Ordinal)
        ? PathParser.TrySplit(Argument, "FROM:", out var sender, out var mail, out _)
            && (sender.Length == 0 || PathParser.TryParseMailbox(sender, out _, out _))
            && MailParameters.TryParse(mail, out _, out _)
        : PathParser.TrySplit(Argument, "TO:", out var recipient, out var rcpt, out _)
            && PathParser.TryParseMailbox(recipient, out _, out _)
            && RcptParameters.TryParse(rcpt, out _, out _);
}
