using System.Diagnostics;
using Hermod.Core.Configuration;
using Hermod.Policy.Modifiers;
using static Hermod.Policy.Tests.Modifiers.ModifierTestKit;

namespace Hermod.Policy.Tests.Modifiers;

/// <summary>rewrite_sender, rewrite_recipient and remove_plus_address.</summary>
public sealed class AddressModifierTests
{
    private const string OldToNew = "pattern: '^(.*)@old\\.test$'\nreplacement: '$1@new.test'\n";

    private static RewriteSenderModifier Sender(string yaml)
    {
        var config = ConfigSection.Parse("rewrite_sender", yaml);
        var modifier = new RewriteSenderModifier(config);
        AssertValid(config);
        return modifier;
    }

    private static RewriteRecipientModifier Recipient(string yaml)
    {
        var config = ConfigSection.Parse("rewrite_recipient", yaml);
        var modifier = new RewriteRecipientModifier(config);
        AssertValid(config);
        return modifier;
    }

    private static async Task<string> RewriteAsync(IModifier modifier, string address) =>
        await modifier.RewriteSenderAsync(address, Context(address), default);

    private static async Task<IReadOnlyList<string>> ExpandAsync(IModifier modifier, string address) =>
        await modifier.RewriteRecipientAsync(address, Context(), default);

    [Theory]
    [InlineData("alice@old.test", "alice@new.test")]
    [InlineData("Alice.B@OLD.Test", "Alice.B@new.test")]
    [InlineData("alice@old.test.example", "alice@old.test.example")]
    [InlineData("alice@other.test", "alice@other.test")]
    public async Task RewriteSenderReplacesTheMatch(string sender, string expected)
    {
        var modifier = Sender(OldToNew);
        Assert.Equal(("rewrite_sender", ModifierStages.Sender), (modifier.Name, modifier.Stages));
        Assert.Equal(expected, await RewriteAsync(modifier, sender));
        Assert.Equal([sender], await ExpandAsync(modifier, sender)); // the recipient stage is not this modifier's
    }

    [Fact]
    public async Task RewriteSenderNeverRewritesTheNullSender()
    {
        var modifier = Sender("pattern: '^.*$'\nreplacement: bounces@example.test\n");
        Assert.Equal("bounces@example.test", await RewriteAsync(modifier, "someone@example.net"));
        Assert.Equal("", await RewriteAsync(modifier, ""));
    }

    [Theory]
    [InlineData("alice@old.test", "alice@new.test")]
    [InlineData("ALICE@old.TEST", "ALICE@new.test")]
    [InlineData("bob@elsewhere.test", "bob@elsewhere.test")]
    public async Task RewriteRecipientReplacesTheMatch(string recipient, string expected)
    {
        var modifier = Recipient(OldToNew);
        Assert.Equal(("rewrite_recipient", ModifierStages.Recipient), (modifier.Name, modifier.Stages));
        Assert.Equal([expected], await ExpandAsync(modifier, recipient));
        Assert.Equal(recipient, await RewriteAsync(modifier, recipient)); // the sender stage is not this modifier's
    }

    [Fact]
    public async Task OnlyTheFirstMatchIsReplaced()
    {
        var modifier = Recipient("pattern: 'a'\nreplacement: 'b'\n");
        Assert.Equal(["bana@example.test"], await ExpandAsync(modifier, "aana@example.test"));
    }

    [Fact]
    public async Task NamedGroupsAndLiteralDollarsWork()
    {
        var modifier = Recipient("pattern: '^(?<user>[^@]+)@(?<host>.+)$'\nreplacement: '${host}.$$${user}@relay.test'\n");
        Assert.Equal(["example.test.$alice@relay.test"], await ExpandAsync(modifier, "alice@example.test"));
    }

    [Theory]
    [InlineData("pattern: '^(.*)@old\\.test$'\nreplacement: '$1'\n")] // no domain left
    [InlineData("pattern: '^(.*)@old\\.test$'\nreplacement: '@new.test'\n")] // no local part
    [InlineData("pattern: '^(.*)@old\\.test$'\nreplacement: '$1@a@new.test'\n")] // two '@'
    [InlineData("pattern: '^(.*)@old\\.test$'\nreplacement: '$1 x@new.test'\n")] // whitespace
    [InlineData("pattern: '^.*$'\nreplacement: ''\n")] // empty
    public async Task AnImplausibleResultLeavesTheAddressUnchanged(string yaml)
    {
        Assert.Equal("alice@old.test", await RewriteAsync(Sender(yaml), "alice@old.test"));
        Assert.Equal(["alice@old.test"], await ExpandAsync(Recipient(yaml), "alice@old.test"));
    }

    [Fact]
    public async Task ACatastrophicPatternTimesOutAndLeavesTheAddressUnchanged()
    {
        const string address = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
        var modifier = Recipient("pattern: '^(a+)+$'\nreplacement: 'x@y.test'\n");
        var clock = Stopwatch.StartNew();
        Assert.Equal([address], await ExpandAsync(modifier, address));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");

        // The first branch backtracks exponentially before the second (which matches) is tried: only the timeout
        // explains an unchanged address.
        var matching = Sender("pattern: '^(?:(a+)+$|.*)'\nreplacement: 'rewritten@y.test'\n");
        clock.Restart();
        Assert.Equal(address, await RewriteAsync(matching, address));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal("rewritten@y.test", await RewriteAsync(matching, "aaa!"));
    }

    [Theory]
    [InlineData("pattern: '('\nreplacement: x\n", "pattern", "'(' is not a valid regular expression: ")]
    [InlineData("pattern: '[a-'\nreplacement: x\n", "pattern", "is not a valid regular expression")]
    [InlineData("replacement: x\n", "pattern", "is required")]
    [InlineData("pattern: a\n", "replacement", "is required")]
    [InlineData("pattern: '^(.*)$'\nreplacement: '$2@x.test'\n", "replacement", "'$2' refers to no group of the pattern")]
    [InlineData("pattern: '^(.*)$'\nreplacement: '$10@x.test'\n", "replacement", "'$10' refers to no group")]
    [InlineData("pattern: '^(?<u>.*)$'\nreplacement: '${user}@x.test'\n", "replacement", "'${user}' refers to no group")]
    [InlineData("pattern: a\nreplacement: b\nflags: i\n", "flags", "unknown key (known here: pattern, replacement)")]
    [InlineData("pattern: [a]\nreplacement: b\n", "pattern", "must be a single value")]
    public void RewriteReportsBadOptions(string yaml, string key, string reason)
    {
        foreach (var kind in new[] { "rewrite_sender", "rewrite_recipient" })
        {
            var config = ConfigSection.Parse(kind, yaml);
            IModifier modifier = kind == "rewrite_sender" ? new RewriteSenderModifier(config) : new RewriteRecipientModifier(config);
            Assert.Equal(kind, modifier.Name);
            AssertError(config, key, reason);
            Assert.Single(config.Errors);
        }
    }

    [Fact]
    public void ValidReplacementReferencesAreAccepted()
    {
        Sender("pattern: '^(.*)@(.*)$'\nreplacement: '$2.$1$0${1}$$1$&@x.test'\n");
        Recipient("pattern: '^(?<u>.*)$'\nreplacement: '${u}@x.test'\n");
    }

    private static RemovePlusAddressModifier Plus(string yaml)
    {
        var config = ConfigSection.Parse("remove_plus_address", yaml);
        var modifier = new RemovePlusAddressModifier(config);
        AssertValid(config);
        return modifier;
    }

    [Theory]
    [InlineData("alice+tag@example.test", "alice@example.test")]
    [InlineData("alice+a+b@example.test", "alice@example.test")]
    [InlineData("Alice+Tag@Example.Test", "Alice@Example.Test")]
    [InlineData("alice+@example.test", "alice@example.test")]
    [InlineData("alice@example.test", "alice@example.test")]
    [InlineData("+tag@example.test", "+tag@example.test")]
    [InlineData("alice-tag@example.test", "alice-tag@example.test")]
    [InlineData("postmaster", "postmaster")]
    public async Task RemovePlusAddressDropsTheDetail(string recipient, string expected)
    {
        var modifier = Plus("");
        Assert.Equal(("remove_plus_address", ModifierStages.Recipient), (modifier.Name, modifier.Stages));
        Assert.Equal([expected], await ExpandAsync(modifier, recipient));
    }

    [Fact]
    public async Task RemovePlusAddressNeverTouchesTheSender()
    {
        var modifier = Plus("");
        Assert.Equal("alice+tag@example.test", await RewriteAsync(modifier, "alice+tag@example.test"));
    }

    [Fact]
    public async Task RemovePlusAddressUsesTheConfiguredSeparator()
    {
        var modifier = Plus("separator: '--'\n");
        Assert.Equal(["alice@example.test"], await ExpandAsync(modifier, "alice--tag@example.test"));
        Assert.Equal(["alice-x+y@example.test"], await ExpandAsync(modifier, "alice-x+y@example.test"));
    }

    [Fact]
    public async Task RemovePlusAddressOnlyChangesTheListedDomains()
    {
        var modifier = Plus("domains: [example.test, Other.Test]\n");
        Assert.Equal(["alice@example.test"], await ExpandAsync(modifier, "alice+tag@example.test"));
        Assert.Equal(["bob@OTHER.test"], await ExpandAsync(modifier, "bob+x@OTHER.test"));
        Assert.Equal(["carol+x@elsewhere.test"], await ExpandAsync(modifier, "carol+x@elsewhere.test"));
        Assert.Equal(["dave+x@sub.example.test"], await ExpandAsync(modifier, "dave+x@sub.example.test"));
    }

    [Theory]
    [InlineData("separator: ''\n", "separator", "'' is not a separator")]
    [InlineData("separator: '@'\n", "separator", "'@' is not a separator")]
    [InlineData("separator: ' '\n", "separator", "' ' is not a separator")]
    [InlineData("domains: [example.test, 'not a domain']\n", "domains", "'not a domain' is not a domain name")]
    [InlineData("domains: ['@example.test']\n", "domains", "'@example.test' is not a domain name")]
    [InlineData("separtor: '+'\n", "separtor", "unknown key (known here: separator, domains)")]
    public void RemovePlusAddressReportsBadOptions(string yaml, string key, string reason)
    {
        var config = ConfigSection.Parse("remove_plus_address", yaml);
        _ = new RemovePlusAddressModifier(config);
        AssertError(config, key, reason);
        Assert.Single(config.Errors);
    }
}
