using System.Net;
using System.Text.Json;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>One SMTP reply as smtplib saw it.</summary>
internal sealed record PeerReply(int Code, string Text)
{
    public override string ToString() => $"{Code} {Text}";

    public static PeerReply From(JsonElement pair) => new(pair[0].GetInt32(), pair[1].GetString()!);
}

/// <summary>What smtp_send.py's transaction got: the MAIL reply, each RCPT's, and DATA's (null: not sent).</summary>
internal sealed record PeerTransaction(PeerReply Mail, IReadOnlyDictionary<string, PeerReply> Rcpt, PeerReply? Data);

/// <summary>One maildir message as Python's mailbox.Maildir read it.</summary>
internal sealed record MaildirMessage(string Key, bool InNew, byte[] Content);

/// <summary>The programs no one here wrote that the pipeline tests check Hermod with (helpers under Pipeline/scripts).</summary>
internal static class PipelinePeers
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static string Script(string fileName) => Peers.Script($"Pipeline/scripts/{fileName}");

    private static JsonElement Json(ProcessResult result, string what)
    {
        Assert.True(result.ExitCode == 0, $"{what}: {result.Describe()}");
        try
        {
            return JsonDocument.Parse(result.StdoutBytes).RootElement.Clone();
        }
        catch (JsonException e)
        {
            Assert.Fail($"{what} did not print JSON ({e.Message}): {result.Describe()}");
            throw;
        }
    }

    /// <summary>Python smtplib: EHLO, MAIL, every RCPT, DATA when any was accepted.</summary>
    public static async Task<PeerTransaction> SmtplibSendAsync(IPEndPoint server, string from, IEnumerable<string> to, byte[] message)
    {
        var result = await Peers.RunAsync(Peers.Python,
            [Script("smtp_send.py"), server.Address.ToString(), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), from, .. to],
            Timeout, stdin: message);
        var json = Json(result, "smtp_send.py");
        var rcpt = json.GetProperty("rcpt").EnumerateArray().ToDictionary(r => r[0].GetString()!, r => new PeerReply(r[1].GetInt32(), r[2].GetString()!));
        var data = json.GetProperty("data");
        return new PeerTransaction(PeerReply.From(json.GetProperty("mail")), rcpt, data.ValueKind == JsonValueKind.Null ? null : PeerReply.From(data));
    }

    /// <summary>
    /// dkimpy's verdict on every DKIM-Signature of <paramref name="message"/> (with its reason when it failed), the public
    /// keys served from <paramref name="records"/> (DNS name → TXT text); also the names dkimpy asked for.
    /// </summary>
    public static async Task<(IReadOnlyList<(string Domain, string Selector, string Algorithm, bool Ok, string Reason)> Signatures, IReadOnlyList<string> Queries)> DkimVerifyAsync(
        byte[] message, IReadOnlyDictionary<string, string> records)
    {
        await Peers.PythonWithAsync("dkim", "python3-dkim");
        var python = await Peers.PythonWithAsync("nacl", "python3-nacl");
        var result = await Peers.RunAsync(python, [Script("dkim_verify.py"), JsonSerializer.Serialize(records)], Timeout, stdin: message);
        var json = Json(result, "dkim_verify.py");
        var signatures = json.GetProperty("signatures").EnumerateArray()
            .Select(s => (s.GetProperty("d").GetString()!, s.GetProperty("s").GetString()!, s.GetProperty("a").GetString()!, s.GetProperty("ok").GetBoolean(), s.GetProperty("reason").GetString()!))
            .ToList();
        return (signatures, [.. json.GetProperty("queries").EnumerateArray().Select(q => q.GetString()!)]);
    }

    /// <summary>The messages of a Maildir as Python's mailbox.Maildir reads them (tests/Hermod.TestKit/scripts/read_maildir.py).</summary>
    public static async Task<IReadOnlyList<MaildirMessage>> ReadMaildirAsync(string maildir)
    {
        var result = await Peers.RunAsync(Peers.Python, [Peers.Script("scripts/read_maildir.py"), maildir], Timeout);
        var box = Json(result, "read_maildir.py").GetProperty(maildir);
        Assert.Empty(box.GetProperty("tmp").EnumerateArray()); // nothing left half-written
        return [.. box.GetProperty("messages").EnumerateArray().Select(m =>
            new MaildirMessage(m.GetProperty("key").GetString()!, m.GetProperty("in_new").GetBoolean(), Convert.FromBase64String(m.GetProperty("content").GetString()!)))];
    }
}
