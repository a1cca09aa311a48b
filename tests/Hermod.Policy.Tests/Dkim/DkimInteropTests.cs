using System.Security.Cryptography;
using System.Text.Json;
using Hermod.Dns;
using Hermod.Policy.Dkim;
using Hermod.TestKit;

namespace Hermod.Policy.Tests.Dkim;

/// <summary>Hermod's signatures checked by verifiers no one here wrote (dkimpy, mailauth), and dkimpy's signatures checked by Hermod.</summary>
public class DkimInteropTests
{
    private static readonly Lazy<DkimSigningKey> Rsa = new(() => DkimKeys.Create(DkimKeyAlgorithm.Rsa2048, "example.org", "rsa1"));
    private static readonly Lazy<DkimSigningKey> Ed = new(() => DkimKeys.Create(DkimKeyAlgorithm.Ed25519, "example.org", "ed1"));

    public static TheoryData<string> Algorithms => ["rsa", "ed25519"];

    private static DkimSigningKey Key(string algorithm) => algorithm == "rsa" ? Rsa.Value : Ed.Value;

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task DkimpyVerifiesHermodSignatures(string algorithm)
    {
        var key = Key(algorithm);
        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, key);
        Assert.Equal("pass", await DkimPeers.DkimpyAsync(signed, "verify", key.RecordText));
        var tampered = signed.Replace("this is", "this Is", StringComparison.Ordinal);
        Assert.Equal("fail", await DkimPeers.DkimpyAsync(tampered, "verify", key.RecordText));
    }

    [Fact]
    public async Task DkimpyVerifiesSimpleCanonicalizationToo()
    {
        var options = new DkimSignerOptions { HeaderCanonicalization = DkimCanonicalization.Simple, BodyCanonicalization = DkimCanonicalization.Simple };
        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, Rsa.Value, options);
        Assert.Equal("pass", await DkimPeers.DkimpyAsync(signed, "verify", Rsa.Value.RecordText));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task HermodVerifiesDkimpySignatures(string algorithm)
    {
        var directory = Directory.CreateTempSubdirectory("hermod-dkimpy-");
        try
        {
            var keyFile = Path.Combine(directory.FullName, "key");
            DkimSigningKey key;
            string a;
            if (algorithm == "rsa")
            {
                var rsa = RSA.Create(2048);
                await File.WriteAllTextAsync(keyFile, rsa.ExportRSAPrivateKeyPem());
                key = DkimSigningKey.FromRsa("example.org", "py", rsa);
                a = "rsa-sha256";
            }
            else
            {
                var seed = RandomNumberGenerator.GetBytes(32);
                await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(seed));
                key = DkimSigningKey.FromEd25519Seed("example.org", "py", seed);
                a = "ed25519-sha256";
            }
            using (key)
            {
                var signed = await DkimPeers.DkimpyAsync(DkimSamples.Message, "sign", "py", "example.org", a, keyFile);
                Assert.StartsWith("DKIM-Signature:", signed);
                var dns = new FakeTxtResolver().Add(key.RecordName, key.RecordText);
                var result = Assert.Single(await new DkimVerifier(dns).VerifyAsync(DkimSamples.Stream(signed)));
                Assert.True(result.Status == DkimStatus.Pass, result.AuthenticationResults);
                Assert.Equal(a, result.Algorithm);

                var body = signed.IndexOf("this is", StringComparison.Ordinal);
                var tampered = signed[..body] + "this iz" + signed[(body + 7)..];
                var failed = Assert.Single(await new DkimVerifier(dns).VerifyAsync(DkimSamples.Stream(tampered)));
                Assert.Equal((DkimStatus.Fail, "body hash mismatch"), (failed.Status, failed.Reason));
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task MailauthVerifiesHermodSignatures(string algorithm)
    {
        var key = Key(algorithm);
        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, key);
        var records = JsonSerializer.Serialize(new Dictionary<string, string> { [key.RecordName] = key.RecordText });
        var (output, log) = await DkimPeers.MailauthAsync(signed, records);
        using var json = JsonDocument.Parse(output);
        var result = Assert.Single(json.RootElement.EnumerateArray());
        Assert.True(result.GetProperty("result").GetString() == "pass", output + log);
        Assert.Contains($"header.a={key.AlgorithmName}", result.GetProperty("info").GetString());

        var tampered = signed.Replace("this is", "this Is", StringComparison.Ordinal);
        (output, log) = await DkimPeers.MailauthAsync(tampered, records);
        using var failed = JsonDocument.Parse(output);
        var rejected = Assert.Single(failed.RootElement.EnumerateArray());
        Assert.Equal("neutral", rejected.GetProperty("result").GetString()); // mailauth reports a body hash mismatch as neutral
        Assert.Contains("body hash did not verify", rejected.GetProperty("comment").GetString());
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task KeyFromRealDnsmasq(string algorithm)
    {
        var key = Key(algorithm);
        // dnsmasq takes several comma-separated strings per TXT record; each character-string holds at most 255 bytes.
        // Given on the command line (no shell, no quoting), every comma starts a new string.
        var chunks = key.RecordText.Chunk(255).Select(c => new string(c));
        await using var dns = await Dnsmasq.StartAsync(
            ["--local=/example.org/", $"--txt-record={key.RecordName},{string.Join(',', chunks)}", "--txt-record=probe.example.org,up"],
            "probe.example.org", DnsRecordType.TXT);
        using var resolver = new StubResolver(new DnsOptions { Servers = [dns.EndPoint], MaxCacheEntries = 0 });
        var txt = await resolver.ResolveTxtAsync(key.RecordName);
        Assert.Equal(key.RecordText, Assert.Single(txt.Records));

        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, key);
        var result = Assert.Single(await new DkimVerifier(resolver).VerifyAsync(DkimSamples.Stream(signed)));
        Assert.Equal(DkimStatus.Pass, result.Status);

        var other = signed.Replace($"s={key.Selector};", "s=missing;", StringComparison.Ordinal);
        var missing = Assert.Single(await new DkimVerifier(resolver).VerifyAsync(DkimSamples.Stream(other)));
        Assert.Equal((DkimStatus.PermError, "no key for signature"), (missing.Status, missing.Reason));
    }
}
