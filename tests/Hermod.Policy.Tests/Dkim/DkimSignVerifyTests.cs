using System.Security.Cryptography;
using System.Text;
using Hermod.Dns;
using Hermod.Policy.Dkim;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Policy.Tests.Dkim;

public class DkimSignVerifyTests
{
    private static readonly Lazy<DkimSigningKey> Rsa = new(() => DkimKeys.Create(DkimKeyAlgorithm.Rsa2048, "example.org", "rsa1"));
    private static readonly Lazy<DkimSigningKey> Ed = new(() => DkimKeys.Create(DkimKeyAlgorithm.Ed25519, "example.org", "ed1"));

    public static TheoryData<string> Algorithms => ["rsa", "ed25519"];

    private static DkimSigningKey Key(string algorithm) => algorithm == "rsa" ? Rsa.Value : Ed.Value;

    internal static async Task<string> SignAsync(string message, DkimSigningKey key, DkimSignerOptions? options = null, TimeProvider? time = null) =>
        await new DkimSigner(options, time).SignAsync(DkimSamples.Stream(message), key) + message;

    private static Task<IReadOnlyList<DkimResult>> VerifyAsync(string message, IDnsResolver dns, TimeProvider? time = null,
        DkimVerifierOptions? options = null) =>
        new DkimVerifier(dns, options, time).VerifyAsync(DkimSamples.Trickle(message, 7));

    private static string AddHeader(string message, string field) =>
        message.Insert(message.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 2, field);

    private static FakeTxtResolver Dns(DkimSigningKey key) => new FakeTxtResolver().Add(key.RecordName, key.RecordText);

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task RoundTripPasses(string algorithm)
    {
        var key = Key(algorithm);
        var signed = await SignAsync(DkimSamples.Message, key);
        var result = Assert.Single(await VerifyAsync(signed, Dns(key)));
        Assert.Equal(DkimStatus.Pass, result.Status);
        Assert.Equal("example.org", result.Domain);
        Assert.Equal(key.Selector, result.Selector);
        Assert.Equal(key.AlgorithmName, result.Algorithm);
        Assert.StartsWith($"dkim=pass header.d=example.org header.s={key.Selector} header.a={key.AlgorithmName} header.b=", result.AuthenticationResults);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task SignatureFieldIsFoldedAndCarriesTheExpectedTags(string algorithm)
    {
        var key = Key(algorithm);
        var field = await new DkimSigner(time: new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)))
            .SignAsync(DkimSamples.Stream(DkimSamples.Message), key);
        Assert.StartsWith("DKIM-Signature: v=1; a=" + key.AlgorithmName + "; c=relaxed/relaxed; d=example.org;", field);
        Assert.EndsWith("\r\n", field);
        Assert.Contains("t=1700000000;", field);
        Assert.DoesNotContain("l=", field);
        Assert.All(field.Split("\r\n"), line => Assert.True(line.Length <= 78, line));
        var h = string.Concat(field.Split("h=")[1].Split(';')[0].Where(c => !char.IsWhiteSpace(c)));
        Assert.Equal("from:from:to:subject:date:message-id:mime-version:content-type", h);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ChangedBodyFailsWithBodyHashMismatch(string algorithm)
    {
        var key = Key(algorithm);
        var signed = (await SignAsync(DkimSamples.Message, key)).Replace("this is", "this Is", StringComparison.Ordinal);
        var result = Assert.Single(await VerifyAsync(signed, Dns(key)));
        Assert.Equal(DkimStatus.Fail, result.Status);
        Assert.Equal("body hash mismatch", result.Reason);
        Assert.StartsWith("dkim=fail (body hash mismatch) header.d=example.org", result.AuthenticationResults);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ChangedSignedHeaderFailsWithSignatureInvalid(string algorithm)
    {
        var key = Key(algorithm);
        var signed = (await SignAsync(DkimSamples.Message, key)).Replace("Subject: Hello", "Subject: Jello", StringComparison.Ordinal);
        var result = Assert.Single(await VerifyAsync(signed, Dns(key)));
        Assert.Equal(DkimStatus.Fail, result.Status);
        Assert.Equal("signature invalid", result.Reason);
    }

    [Fact]
    public async Task RelaxedSurvivesWhitespaceAndCaseChangesInTransit()
    {
        var signed = await SignAsync(DkimSamples.Message, Rsa.Value);
        var mangled = signed.Replace("Subject: Hello   there", "SUBJECT:Hello there ", StringComparison.Ordinal)
            .Replace("Hi Bob,  \r\n", "Hi Bob,\r\n", StringComparison.Ordinal) + "\r\n\r\n";
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(mangled, Dns(Rsa.Value))).Status);
    }

    [Fact]
    public async Task SimpleCanonicalizationRoundTripsAndNoticesWhitespace()
    {
        var options = new DkimSignerOptions { HeaderCanonicalization = DkimCanonicalization.Simple, BodyCanonicalization = DkimCanonicalization.Simple };
        var signed = await SignAsync(DkimSamples.Message, Rsa.Value, options);
        Assert.Contains("c=simple/simple;", signed);
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(signed, Dns(Rsa.Value))).Status);
        var changed = signed.Replace("Hi Bob,  \r\n", "Hi Bob,\r\n", StringComparison.Ordinal);
        Assert.Equal("body hash mismatch", Assert.Single(await VerifyAsync(changed, Dns(Rsa.Value))).Reason);
    }

    [Fact]
    public async Task OversignedFromRejectsAnAddedFromField()
    {
        var signed = await SignAsync(DkimSamples.Message, Ed.Value);
        var injected = AddHeader(signed, "From: mallory@evil.example\r\n");
        Assert.Equal(DkimStatus.Fail, Assert.Single(await VerifyAsync(injected, Dns(Ed.Value))).Status);
    }

    [Fact]
    public async Task UnsignedFieldsMayBeAdded()
    {
        var signed = await SignAsync(DkimSamples.Message, Ed.Value);
        var added = "Received: from somewhere\r\n" + AddHeader(signed, "X-Spam: no\r\n");
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(added, Dns(Ed.Value))).Status);
    }

    [Fact]
    public async Task EmptyBodyAndBodylessMessagesRoundTrip()
    {
        foreach (var message in (string[])["From: a@example.org\r\nSubject: x\r\n\r\n", "From: a@example.org\r\nSubject: x\r\n"])
        {
            var signed = await SignAsync(message, Rsa.Value);
            Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(signed, Dns(Rsa.Value))).Status);
        }
    }

    [Fact]
    public async Task EverySignatureIsReportedInOrder()
    {
        var once = await SignAsync(DkimSamples.Message, Rsa.Value);
        var twice = await SignAsync(once, Ed.Value);
        var results = await VerifyAsync(twice, new FakeTxtResolver().Add(Rsa.Value.RecordName, Rsa.Value.RecordText));
        Assert.Equal(2, results.Count);
        Assert.Equal((DkimStatus.PermError, "ed1"), (results[0].Status, results[0].Selector));
        Assert.Equal("no key for signature", results[0].Reason);
        Assert.Equal((DkimStatus.Pass, "rsa1"), (results[1].Status, results[1].Selector));
    }

    [Fact]
    public async Task SignaturesPastTheLimitAreNeutral()
    {
        var message = DkimSamples.Message;
        for (var i = 0; i < 3; i++)
            message = await SignAsync(message, Ed.Value);
        var results = await VerifyAsync(message, Dns(Ed.Value), options: new DkimVerifierOptions { MaxSignatures = 2 });
        Assert.Equal([DkimStatus.Pass, DkimStatus.Pass, DkimStatus.Neutral], results.Select(r => r.Status));
    }

    [Fact]
    public async Task UnsignedMessageHasNoResults()
    {
        Assert.Empty(await VerifyAsync(DkimSamples.Message, new FakeTxtResolver()));
        Assert.Equal("dkim=none", DkimResult.None);
    }

    [Fact]
    public async Task DnsFailureIsTempError()
    {
        var signed = await SignAsync(DkimSamples.Message, Rsa.Value);
        var result = Assert.Single(await VerifyAsync(signed, new FakeTxtResolver().Fail(Rsa.Value.RecordName, DnsStatus.Timeout)));
        Assert.Equal(DkimStatus.TempError, result.Status);
        Assert.StartsWith("dkim=temperror", result.AuthenticationResults);
    }

    [Fact]
    public async Task RevokedKeyFails()
    {
        var signed = await SignAsync(DkimSamples.Message, Rsa.Value);
        var result = Assert.Single(await VerifyAsync(signed, new FakeTxtResolver().Add(Rsa.Value.RecordName, "v=DKIM1; k=rsa; p=")));
        Assert.Equal((DkimStatus.Fail, "key revoked"), (result.Status, result.Reason));
    }

    [Fact]
    public async Task ShortRsaKeyIsPermError()
    {
        using var rsa = RSA.Create(768);
        var record = "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        var signed = await SignAsync(DkimSamples.Message, Rsa.Value);
        var result = Assert.Single(await VerifyAsync(signed, new FakeTxtResolver().Add(Rsa.Value.RecordName, record)));
        Assert.Equal((DkimStatus.PermError, "key too short (768 bits)"), (result.Status, result.Reason));
        Assert.Throws<CryptographicException>(() => DkimSigningKey.FromPem("example.org", "s", rsa.ExportPkcs8PrivateKeyPem()));
    }

    [Fact]
    public async Task KeyTypeMismatchIsPermError()
    {
        var signed = await SignAsync(DkimSamples.Message, Ed.Value);
        var result = Assert.Single(await VerifyAsync(signed, new FakeTxtResolver().Add(Ed.Value.RecordName, Rsa.Value.RecordText)));
        Assert.Equal(DkimStatus.PermError, result.Status);
    }

    [Fact]
    public async Task ExpiredSignatureIsPermError()
    {
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var options = new DkimSignerOptions { Expiration = TimeSpan.FromDays(1) };
        var signed = await SignAsync(DkimSamples.Message, Rsa.Value, options, new FakeTimeProvider(signedAt));
        Assert.Contains("x=1700086400;", signed);
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(signed, Dns(Rsa.Value), new FakeTimeProvider(signedAt.AddHours(1)))).Status);
        var late = Assert.Single(await VerifyAsync(signed, Dns(Rsa.Value), new FakeTimeProvider(signedAt.AddDays(2))));
        Assert.Equal((DkimStatus.PermError, "signature expired"), (late.Status, late.Reason));
    }

    [Theory]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=rsa1; h=to:subject; bh=AAAA; b=AAAA", "h= does not sign From")]
    [InlineData("v=1; a=rsa-sha1; d=example.org; s=rsa1; h=from; bh=AAAA; b=AAAA", "unsupported algorithm rsa-sha1")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=rsa1; h=from; b=AAAA", "missing tag bh=")]
    [InlineData("v=2; a=rsa-sha256; d=example.org; s=rsa1; h=from; bh=AAAA; b=AAAA", "unsupported version v=2")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=rsa1; h=from; bh=AAAA; b=AAAA; i=@example.com", "i= is not in the d= domain")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=rsa1; h=from; bh=AAAA; b=AAAA; c=fancy", "unsupported canonicalization c=fancy")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=rsa1; h=from; bh=AAAA; b=AAAA; v=1", "duplicate tag v=")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=rsa1; h=from; bh=AAAA; b=AAAA; junk", "tag without a value: junk")]
    public async Task SyntaxProblemsArePermErrors(string tags, string reason)
    {
        var message = "DKIM-Signature: " + tags + "\r\n" + DkimSamples.Message;
        var result = Assert.Single(await VerifyAsync(message, Dns(Rsa.Value)));
        Assert.Equal((DkimStatus.PermError, reason), (result.Status, result.Reason));
        Assert.StartsWith("dkim=permerror (", result.AuthenticationResults);
    }

    [Fact]
    public async Task LengthTagLimitsTheHashedBody()
    {
        // Sign with l= by hand: Hermod never writes l=, but verifies it.
        var key = Rsa.Value;
        var body = "Hi Bob,\r\n";
        using var hasher = new DkimBodyHasher(DkimCanonicalization.Relaxed);
        hasher.Append(Encoding.ASCII.GetBytes(body));
        var header = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=rsa1; h=from; l=9; bh="
            + Convert.ToBase64String(hasher.Finish()) + "; b=";
        var fields = DkimMessage.ParseFields("From: a@example.org\r\n");
        var data = DkimMessage.HeaderHashInput(fields, ["from"], DkimCanonicalization.Relaxed, header);
        var b = Convert.ToBase64String(key.Sign(Encoding.Latin1.GetBytes(data)));
        var message = header + b + "\r\nFrom: a@example.org\r\n\r\n" + body;
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(message + "appended\r\n", Dns(key))).Status);
        var shorter = message.Replace("Hi Bob,", "Hi!", StringComparison.Ordinal);
        Assert.Equal(DkimStatus.Fail, Assert.Single(await VerifyAsync(shorter, Dns(key))).Status);
    }

    [Theory]
    [InlineData(DkimKeyAlgorithm.Rsa2048, "k=rsa")]
    [InlineData(DkimKeyAlgorithm.Ed25519, "k=ed25519")]
    public async Task KeygenWritesAPrivateKeyFileThatLoads(DkimKeyAlgorithm algorithm, string type)
    {
        var directory = Path.Combine(Path.GetTempPath(), "hermod-dkim-" + Guid.NewGuid().ToString("N"));
        try
        {
            var generated = DkimKeys.Generate(algorithm, "Example.ORG", "sel", directory);
            Assert.Equal("sel._domainkey.example.org", generated.RecordName);
            Assert.StartsWith($"v=DKIM1; {type}; p=", generated.RecordText);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(generated.PrivateKeyPath));
            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(generated.PrivateKeyPath));
            using var key = DkimSigningKey.Load("example.org", "sel", generated.PrivateKeyPath);
            Assert.Equal(generated.RecordText, key.RecordText);
            var signed = await SignAsync(DkimSamples.Message, key);
            var dns = new FakeTxtResolver().Add(generated.RecordName, generated.RecordText);
            Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(signed, dns)).Status);
            Assert.Throws<IOException>(() => DkimKeys.Generate(algorithm, "example.org", "sel", directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void OpenSslEd25519KeysLoad()
    {
        // What `openssl genpkey -algorithm ed25519` writes (RFC 8032 test 1 seed).
        var seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var der = Convert.FromHexString("302e020100300506032b657004220420").Concat(seed).ToArray();
        using var key = DkimSigningKey.FromPem("example.org", "s", PemEncoding.WriteString("PRIVATE KEY", der));
        Assert.Equal(DkimAlgorithm.Ed25519Sha256, key.Algorithm);
        Assert.Equal("v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")),
            key.RecordText);
    }

    [Fact]
    public void Ed25519MatchesRfc8032TestVector()
    {
        var seed = Convert.FromHexString("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7");
        var publicKey = Convert.FromHexString("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025");
        var signature = Convert.FromHexString(
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a");
        byte[] message = [0xaf, 0x82];
        Assert.Equal(publicKey, Ed25519OpenSsl.PublicKeyOf(seed));
        Assert.Equal(signature, Ed25519OpenSsl.Sign(seed, message));
        Assert.True(Ed25519OpenSsl.Verify(publicKey, message, signature));
        signature[0] ^= 1;
        Assert.False(Ed25519OpenSsl.Verify(publicKey, message, signature));
    }

    [Fact]
    public void RsaPkcs1PemLoads()
    {
        using var rsa = RSA.Create(2048);
        using var key = DkimSigningKey.FromPem("example.org", "s", rsa.ExportRSAPrivateKeyPem());
        Assert.Equal(DkimAlgorithm.RsaSha256, key.Algorithm);
        Assert.Equal("v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()), key.RecordText);
    }
}
