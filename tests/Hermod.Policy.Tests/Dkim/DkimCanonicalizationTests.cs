using System.Security.Cryptography;
using System.Text;
using Hermod.Policy.Dkim;

namespace Hermod.Policy.Tests.Dkim;

public class DkimCanonicalizationTests
{
    // RFC 6376 section 3.4.5 example.
    private const string ExampleHeaders = "A: X\r\nB : Y\t\r\n\tZ  \r\n";
    private const string ExampleBody = " C \r\nD \t E\r\n\r\n\r\n";

    [Fact]
    public void Rfc6376Example_RelaxedHeaders()
    {
        var fields = DkimMessage.ParseFields(ExampleHeaders);
        Assert.Equal(2, fields.Count);
        Assert.Equal("a:X\r\n", DkimHeaderCanonicalizer.Canonicalize(fields[0].Raw, DkimCanonicalization.Relaxed));
        Assert.Equal("b:Y Z\r\n", DkimHeaderCanonicalizer.Canonicalize(fields[1].Raw, DkimCanonicalization.Relaxed));
    }

    [Fact]
    public void Rfc6376Example_SimpleHeadersAreUnchanged()
    {
        var fields = DkimMessage.ParseFields(ExampleHeaders);
        Assert.Equal("A: X\r\n", DkimHeaderCanonicalizer.Canonicalize(fields[0].Raw, DkimCanonicalization.Simple));
        Assert.Equal("B : Y\t\r\n\tZ  \r\n", DkimHeaderCanonicalizer.Canonicalize(fields[1].Raw, DkimCanonicalization.Simple));
    }

    [Theory]
    [InlineData(DkimCanonicalization.Relaxed, ExampleBody, " C\r\nD E\r\n")]
    [InlineData(DkimCanonicalization.Simple, ExampleBody, " C \r\nD \t E\r\n")]
    [InlineData(DkimCanonicalization.Simple, "", "\r\n")]
    [InlineData(DkimCanonicalization.Relaxed, "", "")]
    [InlineData(DkimCanonicalization.Simple, "\r\n\r\n\r\n", "\r\n")]
    [InlineData(DkimCanonicalization.Relaxed, "\r\n\r\n\r\n", "")]
    [InlineData(DkimCanonicalization.Relaxed, " \t \r\n\t\r\n", "")]
    [InlineData(DkimCanonicalization.Simple, " \r\n", " \r\n")]
    [InlineData(DkimCanonicalization.Simple, "no final newline", "no final newline\r\n")]
    [InlineData(DkimCanonicalization.Relaxed, "no final newline  \t", "no final newline\r\n")]
    [InlineData(DkimCanonicalization.Relaxed, "a\r\n\r\n  \r\nb  c\r\n\r\n", "a\r\n\r\n\r\nb c\r\n")]
    [InlineData(DkimCanonicalization.Simple, "a\r\n\r\n  \r\nb  c\r\n\r\n", "a\r\n\r\n  \r\nb  c\r\n")]
    [InlineData(DkimCanonicalization.Relaxed, "   leading\r\n", " leading\r\n")]
    [InlineData(DkimCanonicalization.Relaxed, "bare\rcr \r", "bare\rcr \r\r\n")]
    [InlineData(DkimCanonicalization.Simple, "ends with cr\r", "ends with cr\r\r\n")]
    public void Body(DkimCanonicalization canonicalization, string body, string expected)
    {
        var want = SHA256.HashData(Encoding.Latin1.GetBytes(expected));
        var bytes = Encoding.Latin1.GetBytes(body);
        // Every split point gives the same hash: the hasher is incremental.
        for (var split = 0; split <= bytes.Length; split++)
        {
            using var hasher = new DkimBodyHasher(canonicalization);
            hasher.Append(bytes.AsSpan(0, split));
            hasher.Append(bytes.AsSpan(split));
            Assert.Equal(Convert.ToBase64String(want), Convert.ToBase64String(hasher.Finish()));
            Assert.Equal(expected.Length, hasher.CanonicalLength);
        }
        using var byteAtATime = new DkimBodyHasher(canonicalization);
        foreach (var b in bytes)
            byteAtATime.Append([b]);
        Assert.Equal(want, byteAtATime.Finish());
    }

    [Fact]
    public void EmptyBodyHashesAreTheKnownValues()
    {
        using var simple = new DkimBodyHasher(DkimCanonicalization.Simple);
        using var relaxed = new DkimBodyHasher(DkimCanonicalization.Relaxed);
        Assert.Equal("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=", Convert.ToBase64String(simple.Finish()));
        Assert.Equal("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Convert.ToBase64String(relaxed.Finish()));
    }

    [Fact]
    public void LengthLimitHashesOnlyThePrefix()
    {
        using var hasher = new DkimBodyHasher(DkimCanonicalization.Relaxed, limit: 5);
        hasher.Append("Hello  world\r\n"u8);
        Assert.Equal(SHA256.HashData("Hello"u8), hasher.Finish());
        Assert.Equal("Hello world\r\n".Length, hasher.CanonicalLength);
    }

    [Fact]
    public void LargeBodyStreamsInChunks()
    {
        var line = Encoding.ASCII.GetBytes("0123456789 abcdefghij  \t klmnopqrstuvwxyz\r\n");
        using var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var hasher = new DkimBodyHasher(DkimCanonicalization.Relaxed);
        var canonical = Encoding.ASCII.GetBytes("0123456789 abcdefghij klmnopqrstuvwxyz\r\n");
        for (var i = 0; i < 100_000; i++)
        {
            hasher.Append(line);
            expected.AppendData(canonical);
        }
        Assert.Equal(expected.GetHashAndReset(), hasher.Finish());
    }

    [Theory]
    [InlineData("Subject:   Hello \t World  \r\n", "subject:Hello World\r\n")]
    [InlineData("SUBJECT :x\r\n", "subject:x\r\n")]
    [InlineData("X-Empty:\r\n", "x-empty:\r\n")]
    [InlineData("X-Empty:   \r\n", "x-empty:\r\n")]
    [InlineData("To: a@b,\r\n  c@d,\r\n\te@f\r\n", "to:a@b, c@d, e@f\r\n")]
    [InlineData("Mixed-Case: KeepS Value Case\r\n", "mixed-case:KeepS Value Case\r\n")]
    public void RelaxedHeader(string field, string expected) =>
        Assert.Equal(expected, DkimHeaderCanonicalizer.Canonicalize(field, DkimCanonicalization.Relaxed));

    [Fact]
    public void HeaderSelectionTakesRepeatedFieldsFromTheBottomAndOversigningAddsNothing()
    {
        var fields = DkimMessage.ParseFields("Received: first\r\nFrom: a@b\r\nReceived: second\r\n");
        var data = DkimMessage.HeaderHashInput(fields, ["received", "received", "received", "from", "from"],
            DkimCanonicalization.Relaxed, "DKIM-Signature: v=1; b=\r\n");
        Assert.Equal("received:second\r\nreceived:first\r\nfrom:a@b\r\ndkim-signature:v=1; b=", data);
    }

    [Theory]
    [InlineData("DKIM-Signature: v=1; b=abc\r\n def; bh=xyz\r\n", "DKIM-Signature: v=1; b=; bh=xyz")]
    [InlineData("DKIM-Signature: v=1; bh=xyz; b = abc\r\n\tdef\r\n", "DKIM-Signature: v=1; bh=xyz; b =")]
    [InlineData("DKIM-Signature: v=1; bh=xyz\r\n", "DKIM-Signature: v=1; bh=xyz")]
    public void SignatureValueIsRemoved(string field, string expected) =>
        Assert.Equal(expected, DkimMessage.WithoutSignatureValue(field));

    [Fact]
    public async Task HeaderBlockIsSplitFromTheBody()
    {
        using var parsed = await DkimMessage.ReadAsync(DkimSamples.Trickle("A: 1\r\nB: 2\r\n continued\r\n\r\nbody\r\n", 3), 1000, default);
        Assert.NotNull(parsed);
        Assert.Equal(["A", "B"], parsed.Fields.Select(f => f.Name));
        Assert.Equal("B: 2\r\n continued\r\n", parsed.Fields[1].Raw);
        Assert.True(parsed.BodyPrefix.Length <= "body\r\n".Length);
    }

    [Fact]
    public async Task HeaderBlockOverTheLimitIsRefused()
    {
        var big = "X-Big: " + new string('x', 5000) + "\r\n\r\nbody";
        Assert.Null(await DkimMessage.ReadAsync(DkimSamples.Stream(big), 1000, default));
        Assert.NotNull(await DkimMessage.ReadAsync(DkimSamples.Stream(big), 10_000, default));
    }
}
