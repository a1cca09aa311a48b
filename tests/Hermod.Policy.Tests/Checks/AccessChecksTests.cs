using Hermod.Policy.Checks;
using static Hermod.Policy.Tests.Checks.Contexts;

namespace Hermod.Policy.Tests.Checks;

public sealed class AccessChecksTests
{
    [Fact]
    public async Task RequireTlsRefusesPlaintextWith530()
    {
        var check = new RequireTlsCheck();
        Assert.True(check.RunsAt(CheckStage.Mail));
        Assert.False(check.RunsAt(CheckStage.Connection));
        var refused = await check.CheckAsync(CheckStage.Mail, Make(tls: false), default);
        AssertRefused(refused, CheckAction.Reject, 530, "5.7.0");
        Assert.Equal("Must issue a STARTTLS command first", refused.Reply!.Text);
        Assert.Equal(CheckAction.Accept, (await check.CheckAsync(CheckStage.Mail, Make(tls: true), default)).Action);
    }

    [Fact]
    public async Task RequireTlsExemptsListedAddresses()
    {
        var check = new RequireTlsCheck(new RequireTlsOptions { Exempt = ["127.0.0.1"] });
        Assert.Equal(CheckAction.Accept, (await check.CheckAsync(CheckStage.Mail, Make(ip: "::ffff:127.0.0.1"), default)).Action);
        Assert.Throws<ArgumentException>(() => new RequireTlsCheck(new RequireTlsOptions { Exempt = ["nope"] }));
    }

    [Fact]
    public async Task RequireAuthRefusesAnonymousWith530()
    {
        var check = new RequireAuthCheck();
        AssertRefused(await check.CheckAsync(CheckStage.Mail, Make(), default), CheckAction.Reject, 530, "5.7.0");
        Assert.Equal(CheckAction.Accept, (await check.CheckAsync(CheckStage.Mail, Make(user: "alice"), default)).Action);
    }

    private static AuthorizeSenderCheck Authorize(bool sameLocalPart = false) => new(new AuthorizeSenderOptions
    {
        Users = new Dictionary<string, IReadOnlyList<string>>
        {
            ["alice"] = ["alice@example.org", "@alice.example"],
            ["bob@example.org"] = ["example.net"],
        },
        SameLocalPart = sameLocalPart,
        LocalDomains = sameLocalPart ? ["example.org", "example.com"] : [],
    });

    [Theory]
    [InlineData("alice", "alice@example.org", true)]
    [InlineData("ALICE", "Alice@Example.ORG", true)]
    [InlineData("alice", "anyone@alice.example", true)]
    [InlineData("alice", "bob@example.org", false)]
    [InlineData("alice", "alice@example.com", false)]
    [InlineData("bob@example.org", "x@example.net", true)]
    [InlineData("bob@example.org", "bob@example.org", false)]
    [InlineData("mallory", "mallory@example.org", false)]
    public async Task AuthorizeSenderChecksMailFrom(string user, string sender, bool allowed)
    {
        var result = await Authorize().CheckAsync(CheckStage.Mail, Make(user: user, sender: sender), default);
        if (allowed)
            Assert.Equal(CheckAction.Accept, result.Action);
        else
            AssertRefused(result, CheckAction.Reject, 553, "5.7.1");
    }

    [Theory]
    [InlineData("carol", "carol@example.com", true)]
    [InlineData("carol@example.org", "carol@example.com", true)]
    [InlineData("carol", "carol@elsewhere.example", false)]
    [InlineData("carol", "dave@example.org", false)]
    public async Task AuthorizeSenderSameLocalPartAtLocalDomains(string user, string sender, bool allowed)
    {
        var result = await Authorize(sameLocalPart: true).CheckAsync(CheckStage.Mail, Make(user: user, sender: sender), default);
        Assert.Equal(allowed ? CheckAction.Accept : CheckAction.Reject, result.Action);
    }

    [Fact]
    public async Task AuthorizeSenderLeavesAnonymousSessionsAndNullSenderAlone()
    {
        var check = Authorize();
        Assert.Equal(CheckAction.Accept, (await check.CheckAsync(CheckStage.Mail, Make(sender: "bob@example.org"), default)).Action);
        Assert.Equal(CheckAction.Accept, (await check.CheckAsync(CheckStage.Mail, Make(user: "alice", sender: ""), default)).Action);
        var strict = new AuthorizeSenderCheck(new AuthorizeSenderOptions
        {
            Users = new Dictionary<string, IReadOnlyList<string>> { ["alice"] = ["alice@example.org"] },
            AllowNullSender = false,
        });
        AssertRefused(await strict.CheckAsync(CheckStage.Mail, Make(user: "alice", sender: ""), default), CheckAction.Reject, 553, "5.7.1");
    }

    [Theory]
    [InlineData("From: Alice <alice@example.org>", true)]
    [InlineData("From: \"Bob, <bob@example.org>\" <alice@example.org>", true)]
    [InlineData("From: alice@example.org (Bob <bob@example.org>)", true)]
    [InlineData("From: Alice\r\n <alice@example.org>", true)]
    [InlineData("From: Bob <bob@example.org>", false)]
    [InlineData("From: Alice <alice@example.org>, Bob <bob@example.org>", false)]
    [InlineData("From: friends: alice@example.org, bob@example.org;", false)]
    [InlineData("From: Alice <alice@example.org>\r\nfrom: bob@example.org", false)]
    [InlineData("From: undisclosed", false)]
    public async Task AuthorizeSenderChecksTheFromHeader(string from, bool allowed)
    {
        var message = $"Subject: hi\r\n{from}\r\nTo: x@example.net\r\n\r\nFrom: bob@example.org\r\n";
        var check = Authorize();
        Assert.True(check.RunsAt(CheckStage.Body));
        var result = await check.CheckAsync(CheckStage.Body, Make(user: "alice", sender: "alice@example.org", message: message), default);
        if (allowed)
            Assert.Equal(CheckAction.Accept, result.Action);
        else
            AssertRefused(result, CheckAction.Reject, 553, "5.7.1");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(64)]
    public async Task AuthorizeSenderReadsTheHeaderAcrossEverySplit(int chunk)
    {
        var check = Authorize();
        foreach (var (message, allowed) in new[]
        {
            ("From: alice@example.org\r\n\r\nFrom: bob@example.org\r\n", true),
            ("To: x@example.net\r\nFrom: bob@example.org\r\n\r\n", false),
            ("From: alice@example.org\n\nFrom: bob@example.org\n", true), // bare LF line ends
            ("From: alice@example.org\r\nFrom: bob@example.org", false), // no body, no final CRLF
        })
        {
            var context = new CheckContext
            {
                Listener = "test",
                ClientAddress = System.Net.IPAddress.Loopback,
                AuthUser = "alice",
                OpenBody = _ => Task.FromResult(Dkim.DkimSamples.Trickle(message, chunk)),
            };
            var result = await check.CheckAsync(CheckStage.Body, context, default);
            Assert.True(allowed == (result.Action == CheckAction.Accept), $"{chunk}: {message}");
        }
    }

    [Fact]
    public async Task AuthorizeSenderRefusesAnOversizedHeaderBlock()
    {
        var check = new AuthorizeSenderCheck(new AuthorizeSenderOptions
        {
            Users = new Dictionary<string, IReadOnlyList<string>> { ["alice"] = ["alice@example.org"] },
            MaxHeaderBytes = 1024,
        });
        var message = "From: alice@example.org\r\n" + string.Concat(Enumerable.Repeat("X-Filler: 0123456789012345678901234567890123456789\r\n", 100)) + "\r\nbody\r\n";
        AssertRefused(await check.CheckAsync(CheckStage.Body, Make(user: "alice", message: message), default), CheckAction.Reject, 552, "5.3.4");
    }

    [Fact]
    public void AuthorizeSenderValidatesItsOptions()
    {
        Assert.Contains("users: must not be empty unless same_local_part is set", new AuthorizeSenderOptions().Validate());
        Assert.Contains("local_domains: must not be empty when same_local_part is set", new AuthorizeSenderOptions { SameLocalPart = true }.Validate());
        Assert.Throws<ArgumentException>(() => new AuthorizeSenderCheck(new AuthorizeSenderOptions()));
    }

    [Fact]
    public async Task RecipientExistsRefusesUnknownWith550()
    {
        var table = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(table, ["# users", "carol@example.org", "", "  @catchall.example  # all of it"]);
            var check = new RecipientExistsCheck(new RecipientExistsOptions
            {
                Addresses = ["alice@example.org", "bob@example.org"],
                TableFile = table,
                Domains = ["example.org", "catchall.example"],
                DetailSeparator = "+",
            });
            Assert.True(check.RunsAt(CheckStage.Rcpt));
            foreach (var known in new[] { "alice@example.org", "BOB@example.ORG", "carol@example.org", "x@catchall.example", "alice+news@example.org", "postmaster@example.org", "someone@relayed.example" })
                Assert.Equal(CheckAction.Accept, (await check.CheckAsync(CheckStage.Rcpt, Make(recipient: known), default)).Action);
            foreach (var unknown in new[] { "dave@example.org", "+alice@example.org", "alic@example.org" })
            {
                var refused = await check.CheckAsync(CheckStage.Rcpt, Make(recipient: unknown), default);
                AssertRefused(refused, CheckAction.Reject, 550, "5.1.1");
                Assert.Equal("No such user", refused.Reply!.Text);
            }
        }
        finally
        {
            File.Delete(table);
        }
    }

    [Fact]
    public void RecipientExistsValidatesItsOptions()
    {
        Assert.Contains("addresses: must not be empty unless table is set", new RecipientExistsOptions().Validate());
        Assert.Contains("table: '/nonexistent/users' does not exist", new RecipientExistsOptions { TableFile = "/nonexistent/users" }.Validate());
        Assert.Throws<ArgumentException>(() => new RecipientExistsCheck(new RecipientExistsOptions { Addresses = ["not an address"] }));
    }
}
