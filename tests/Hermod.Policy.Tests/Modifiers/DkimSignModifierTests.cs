using System.Text;
using Hermod.Core.Configuration;
using Hermod.Policy.Dkim;
using Hermod.Policy.Headers;
using Hermod.Policy.Modifiers;
using Hermod.Policy.Tests.Dkim;
using Microsoft.Extensions.Time.Testing;
using static Hermod.Policy.Tests.Modifiers.ModifierTestKit;

namespace Hermod.Policy.Tests.Modifiers;

/// <summary>PEM key files made by <see cref="DkimKeys.Generate"/> in a temp directory, deleted after the tests.</summary>
public sealed class DkimKeyFiles : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("hermod-dkim-sign-");

    public DkimKeyFiles()
    {
        OrgRsa = DkimKeys.Generate(DkimKeyAlgorithm.Rsa2048, "example.org", "rsa1", _directory.FullName);
        OrgEd25519 = DkimKeys.Generate(DkimKeyAlgorithm.Ed25519, "example.org", "ed1", _directory.FullName);
        NetRsa = DkimKeys.Generate(DkimKeyAlgorithm.Rsa2048, "example.net", "net1", _directory.FullName);
    }

    public DkimGeneratedKey OrgRsa { get; }

    public DkimGeneratedKey OrgEd25519 { get; }

    public DkimGeneratedKey NetRsa { get; }

    public string Folder => _directory.FullName;

    /// <summary>A DNS edge that publishes every key.</summary>
    internal FakeTxtResolver Dns() => new FakeTxtResolver()
        .Add(OrgRsa.RecordName, OrgRsa.RecordText)
        .Add(OrgEd25519.RecordName, OrgEd25519.RecordText)
        .Add(NetRsa.RecordName, NetRsa.RecordText);

    public void Dispose() => _directory.Delete(recursive: true);
}

public sealed class DkimSignModifierTests(DkimKeyFiles keys) : IClassFixture<DkimKeyFiles>
{
    private static readonly FakeTimeProvider Now = new(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

    private const string Message =
        "From: Alice Example <alice@example.org>\r\n" +
        "To: bob@example.net\r\n" +
        "Subject: Hello   there\r\n" +
        "\tfolded subject\r\n" +
        "Date: Sat, 22 Nov 2025 12:00:00 +0000\r\n" +
        "Message-ID: <1234@example.org>\r\n" +
        "\r\n" +
        "Hi Bob,  \r\n" +
        "\r\n" +
        "this is\ta test.\r\n" +
        "\r\n" +
        "\r\n";

    private static string Entry(DkimGeneratedKey key, string domain, string selector) =>
        $"  - domain: {domain}\n    selector: {selector}\n    key: '{key.PrivateKeyPath}'\n";

    private string OrgRsa => Entry(keys.OrgRsa, "example.org", "rsa1");

    private string OrgEd25519 => Entry(keys.OrgEd25519, "example.org", "ed1");

    private string NetRsa => Entry(keys.NetRsa, "example.net", "net1");

    private static DkimSignModifier Signer(string yaml)
    {
        var config = ConfigSection.Parse("dkim_sign", yaml);
        var modifier = new DkimSignModifier(config, Now);
        AssertValid(config);
        return modifier;
    }

    /// <summary>Runs the modifier the way the pipeline does: the header block parsed, the body opened separately.</summary>
    private static async Task<(string Message, MessageHeader Header)> SignAsync(DkimSignModifier modifier, string message, string sender = "")
    {
        var bytes = Encoding.Latin1.GetBytes(message);
        var (header, length) = (await MessageHeader.ReadAsync(new MemoryStream(bytes), 64 * 1024, default))!.Value;
        var context = new ModifierContext
        {
            Listener = "test",
            ClientAddress = System.Net.IPAddress.Loopback,
            Sender = sender,
            OpenBody = _ => Task.FromResult<Stream>(new MemoryStream(bytes, length, bytes.Length - length)),
        };
        await modifier.ModifyHeaderAsync(header, context, default);
        return (Encoding.Latin1.GetString(header.ToBytes()) + message[length..], header);
    }

    private async Task<IReadOnlyList<DkimResult>> VerifyAsync(string message) =>
        await new DkimVerifier(keys.Dns(), time: Now).VerifyAsync(new MemoryStream(Encoding.Latin1.GetBytes(message)));

    private static string Tag(string field, string tag) =>
        string.Concat(field.Split(';').Select(t => t.Trim()).First(t => t.StartsWith(tag + "=", StringComparison.Ordinal))[(tag.Length + 1)..]
            .Where(c => !char.IsWhiteSpace(c)));

    public static TheoryData<string> Algorithms => ["rsa", "ed25519"];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task SignedMessagesPassOurVerifierAndDkimpy(string algorithm)
    {
        var (key, entry, name) = algorithm == "rsa" ? (keys.OrgRsa, OrgRsa, "rsa-sha256") : (keys.OrgEd25519, OrgEd25519, "ed25519-sha256");
        using var modifier = Signer("keys:\n" + entry);
        Assert.Equal(("dkim_sign", ModifierStages.Header), (modifier.Name, modifier.Stages));
        var (signed, header) = await SignAsync(modifier, Message);

        Assert.True(header.Changed);
        var field = header.Fields[0];
        Assert.Equal("DKIM-Signature", field.Name);
        Assert.StartsWith($"DKIM-Signature: v=1; a={name}; c=relaxed/relaxed; d=example.org;", field.Raw);
        Assert.EndsWith("\r\n", field.Raw);
        Assert.Equal("1700000000", Tag(field.Value, "t"));
        Assert.Equal("from:from:to:subject:date:message-id", Tag(field.Value, "h"));
        Assert.Equal(field.Raw + Message, signed);

        var result = Assert.Single(await VerifyAsync(signed));
        Assert.True(result.Status == DkimStatus.Pass, result.AuthenticationResults);
        Assert.Equal(("example.org", algorithm == "rsa" ? "rsa1" : "ed1", name), (result.Domain, result.Selector, result.Algorithm));
        Assert.Equal("pass", await DkimPeers.DkimpyAsync(signed, "verify", key.RecordText));

        var tampered = signed.Replace("this is", "this Is", StringComparison.Ordinal);
        Assert.Equal(DkimStatus.Fail, Assert.Single(await VerifyAsync(tampered)).Status);
        Assert.Equal("fail", await DkimPeers.DkimpyAsync(tampered, "verify", key.RecordText));
    }

    [Fact]
    public async Task TheFromDomainIsChosenOverTheEnvelopeSender()
    {
        using var modifier = Signer("keys:\n" + NetRsa + OrgRsa);
        var (signed, header) = await SignAsync(modifier, Message, sender: "bounces@example.net");
        Assert.Single(header.Fields, f => f.Name == "DKIM-Signature");
        var result = Assert.Single(await VerifyAsync(signed));
        Assert.Equal((DkimStatus.Pass, "example.org"), (result.Status, result.Domain));
    }

    [Fact]
    public async Task TheEnvelopeSenderDomainIsUsedWhenTheFromDomainHasNoKey()
    {
        using var modifier = Signer("keys:\n" + NetRsa + OrgRsa);
        var message = Message.Replace("alice@example.org", "alice@other.test", StringComparison.Ordinal);
        var (signed, _) = await SignAsync(modifier, message, sender: "bounces@EXAMPLE.net");
        var result = Assert.Single(await VerifyAsync(signed));
        Assert.Equal((DkimStatus.Pass, "example.net"), (result.Status, result.Domain));
        Assert.Equal("pass", await DkimPeers.DkimpyAsync(signed, "verify", keys.NetRsa.RecordText));

        var noFrom = Message.Replace("From: Alice Example <alice@example.org>\r\n", "", StringComparison.Ordinal);
        (signed, _) = await SignAsync(modifier, noFrom, sender: "bounces@example.net");
        Assert.Equal((DkimStatus.Pass, "example.net"), (Assert.Single(await VerifyAsync(signed)).Status, Assert.Single(await VerifyAsync(signed)).Domain));
    }

    [Theory]
    [InlineData("alice@other.test", "")]
    [InlineData("alice@other.test", "bounces@other.test")]
    [InlineData("alice@sub.example.org", "")]
    [InlineData("alice@sub.example.org", "bounces@mail.example.net")]
    public async Task WithoutAKeyForEitherDomainTheMessagePassesUnsigned(string from, string sender)
    {
        using var modifier = Signer("keys:\n" + NetRsa + OrgRsa);
        var message = Message.Replace("alice@example.org", from, StringComparison.Ordinal);
        var (signed, header) = await SignAsync(modifier, message, sender);
        Assert.False(header.Changed);
        Assert.Equal(message, signed);
    }

    [Fact]
    public async Task DomainsMatchCaseInsensitivelyAndTheFromDisplayNameIsSkipped()
    {
        using var modifier = Signer("keys:\n" + Entry(keys.OrgRsa, "Example.ORG", "rsa1"));
        var message = Message.Replace("From: Alice Example <alice@example.org>", "From: \"Bob <bob@example.net>\" (x@y.test) <ALICE@EXAMPLE.ORG>",
            StringComparison.Ordinal);
        var (signed, _) = await SignAsync(modifier, message);
        var result = Assert.Single(await VerifyAsync(signed));
        Assert.Equal((DkimStatus.Pass, "example.org"), (result.Status, result.Domain));
    }

    [Fact]
    public async Task ADomainWithTwoKeysGetsTwoSignatures()
    {
        using var modifier = Signer("keys:\n" + OrgRsa + NetRsa + OrgEd25519);
        Assert.Equal(3, modifier.Keys.Count);
        var (signed, header) = await SignAsync(modifier, Message);
        Assert.Equal(["DKIM-Signature", "DKIM-Signature", "From"], header.Fields.Take(3).Select(f => f.Name));
        var results = await VerifyAsync(signed);
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.True(r.Status == DkimStatus.Pass, r.AuthenticationResults));
        Assert.Equal(["rsa-sha256", "ed25519-sha256"], results.Select(r => r.Algorithm));
        Assert.Equal("pass", await DkimPeers.DkimpyAsync(signed, "verify", keys.OrgRsa.RecordText)); // dkimpy checks the top one
    }

    [Fact]
    public async Task HeadersAndOversignChooseTheSignedFields()
    {
        using var modifier = Signer("keys:\n" + OrgRsa + "headers: [From, Subject, X-Absent]\noversign: [Subject]\n");
        var (signed, header) = await SignAsync(modifier, Message);
        Assert.Equal("from:subject:subject", Tag(header.Fields[0].Value, "h"));
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(signed)).Status);
        Assert.Equal("pass", await DkimPeers.DkimpyAsync(signed, "verify", keys.OrgRsa.RecordText));

        using var none = Signer("keys:\n" + OrgRsa + "oversign: []\n");
        (_, header) = await SignAsync(none, Message);
        Assert.Equal("from:to:subject:date:message-id", Tag(header.Fields[0].Value, "h"));
    }

    [Fact]
    public async Task ASignatureNeedsTheBody()
    {
        using var modifier = Signer("keys:\n" + OrgRsa);
        var header = Header(Message[..Message.IndexOf("\r\n\r\n", StringComparison.Ordinal)] + "\r\n\r\n");
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await modifier.ModifyHeaderAsync(header, Context(), default));
    }

    [Fact]
    public void DisposeReleasesTheKeys()
    {
        var modifier = Signer("keys:\n" + OrgRsa + OrgEd25519);
        Assert.Equal(2, modifier.Keys.Count);
        modifier.Dispose();
        Assert.Empty(modifier.Keys);
    }

    [Theory]
    [InlineData("", "keys", "is required: a list of { domain, selector, key }")]
    [InlineData("keys: []\n", "keys", "must list at least one { domain, selector, key }")]
    [InlineData("keys: example.org\n", "keys", "must be a list of mappings")]
    [InlineData("keys:\n  - example.org\n", "keys[0]", "must be a mapping of keys")]
    [InlineData("keys:\n  - selector: s\n    key: /nowhere.pem\n", "keys[0].domain", "is required")]
    [InlineData("keys:\n  - domain: example.org\n    key: /nowhere.pem\n", "keys[0].selector", "is required")]
    [InlineData("keys:\n  - domain: example.org\n    selector: s\n", "keys[0].key", "is required")]
    [InlineData("keys:\n  - domain: 'not a domain'\n    selector: s\n    key: /nowhere.pem\n", "keys[0].domain", "'not a domain' is not a domain name")]
    [InlineData("keys:\n  - domain: example.org\n    selector: 'bad_sel'\n    key: /nowhere.pem\n", "keys[0].selector", "'bad_sel' is not a selector")]
    [InlineData("keys:\n  - domain: example.org\n    selector: s\n    key: /nowhere.pem\n    algorithm: rsa\n", "keys[0].algorithm", "unknown key (known here: domain, selector, key)")]
    [InlineData("keys:\n  - domain: example.org\n    selector: s\n    key: /nowhere/k.pem\n", "keys[0].key", "/nowhere/k.pem")]
    [InlineData("key: x\n", "key", "unknown key (known here: keys, headers, oversign)")]
    public void BadKeyOptionsAreReported(string yaml, string key, string reason)
    {
        var config = ConfigSection.Parse("dkim_sign", yaml);
        using var modifier = new DkimSignModifier(config, Now);
        AssertError(config, key, reason);
    }

    [Theory]
    [InlineData("headers: []\n", "headers", "must list at least one header field name")]
    [InlineData("headers: [To, Subject]\n", "headers", "must include From")]
    [InlineData("headers: [From, 'Bad Name']\n", "headers", "'Bad Name' is not a valid header field name")]
    [InlineData("oversign: ['a:b']\n", "oversign", "'a:b' is not a valid header field name")]
    [InlineData("oversign: {a: b}\n", "oversign", "must be a list")]
    public void BadHeaderOptionsAreReported(string yaml, string key, string reason)
    {
        var config = ConfigSection.Parse("dkim_sign", "keys:\n" + OrgRsa + yaml);
        using var modifier = new DkimSignModifier(config, Now);
        AssertError(config, key, reason);
        Assert.Single(config.Errors);
    }

    [Fact]
    public void AKeyThatDoesNotLoadIsReportedWithItsPath()
    {
        var garbage = Path.Combine(keys.Folder, $"garbage-{Guid.NewGuid():N}.pem");
        File.WriteAllText(garbage, "not a key\n");
        var config = ConfigSection.Parse("dkim_sign", "keys:\n" + OrgRsa + $"  - domain: example.net\n    selector: s\n    key: '{garbage}'\n");
        using var modifier = new DkimSignModifier(config, Now);
        var error = AssertError(config, "keys[1].key", garbage);
        Assert.Contains("BEGIN PRIVATE KEY", error);
        Assert.Single(config.Errors);
        Assert.Single(modifier.Keys);
    }

    [Fact]
    public void TheSameSelectorTwiceIsReported()
    {
        var config = ConfigSection.Parse("dkim_sign", "keys:\n" + OrgRsa + Entry(keys.OrgEd25519, "EXAMPLE.org", "rsa1"));
        using var modifier = new DkimSignModifier(config, Now);
        AssertError(config, "keys[1].selector", "'rsa1' of 'EXAMPLE.org' is listed twice");
    }
}
