using System.Text;
using Hermod.Core.Configuration;
using Hermod.Policy.Modifiers;
using static Hermod.Policy.Tests.Modifiers.ModifierTestKit;

namespace Hermod.Policy.Tests.Modifiers;

public sealed class AliasModifierTests
{
    private static AliasModifier Aliases(string table)
    {
        using var file = new TempFile(table);
        var config = ConfigSection.Parse("alias", $"table: '{file.Path}'\n");
        var modifier = new AliasModifier(config);
        AssertValid(config);
        return modifier;
    }

    private static (ConfigSection Config, string Path) Broken(string table)
    {
        using var file = new TempFile(table);
        var config = ConfigSection.Parse("alias", $"table: '{file.Path}'\n");
        _ = new AliasModifier(config);
        Assert.NotEmpty(config.Errors);
        return (config, file.Path);
    }

    private static async Task<IReadOnlyList<string>> ExpandAsync(IModifier modifier, string recipient) =>
        await modifier.RewriteRecipientAsync(recipient, Context(), default);

    [Fact]
    public async Task ExactKeysExpandToTheirTargets()
    {
        var aliases = Aliases(
            "# team lists\n" +
            "\n" +
            "sales@example.test: alice@example.test, bob@example.net   # two people\n" +
            "  info@example.test :carol@example.test\n" +
            "Root@Example.Test: admin@example.test,\n");
        Assert.Equal(("alias", ModifierStages.Recipient, 3), (aliases.Name, aliases.Stages, aliases.Count));
        Assert.Equal(["alice@example.test", "bob@example.net"], await ExpandAsync(aliases, "sales@example.test"));
        Assert.Equal(["alice@example.test", "bob@example.net"], await ExpandAsync(aliases, "SALES@example.TEST"));
        Assert.Equal(["carol@example.test"], await ExpandAsync(aliases, "info@example.test"));
        Assert.Equal(["admin@example.test"], await ExpandAsync(aliases, "root@example.test"));
        Assert.Equal(["dave@example.test"], await ExpandAsync(aliases, "dave@example.test"));
        Assert.Equal("sender@example.test", await ((IModifier)aliases).RewriteSenderAsync("sender@example.test", Context(), default));
    }

    [Fact]
    public void TargetsThatAreKeysExpandAgain()
    {
        var aliases = Aliases(
            "all@example.test: sales@example.test, dev@example.test, alice@example.test\n" +
            "sales@example.test: alice@example.test, bob@example.test\n" +
            "dev@example.test: team@example.test\n" +
            "team@example.test: carol@example.test, Alice@example.test\n");
        Assert.Equal(["alice@example.test", "bob@example.test", "carol@example.test"], aliases.Expand("all@example.test"));
    }

    [Fact]
    public void ACycleStopsAtTheAddressThatRepeatsWhichIsKept()
    {
        var aliases = Aliases(
            "a@example.test: b@example.test\n" +
            "b@example.test: c@example.test, x@example.test\n" +
            "c@example.test: a@example.test\n" +
            "self@example.test: self@example.test, copy@example.net\n");
        Assert.Equal(["a@example.test", "x@example.test"], aliases.Expand("a@example.test"));
        Assert.Equal(["b@example.test", "x@example.test"], aliases.Expand("b@example.test"));
        Assert.Equal(["self@example.test", "copy@example.net"], aliases.Expand("self@example.test"));
    }

    [Fact]
    public void ExpansionStopsTenLevelsDown()
    {
        var table = new StringBuilder();
        for (var i = 0; i < 15; i++)
            table.Append(Level(i)).Append(": ").Append(Level(i + 1)).Append('\n');
        var aliases = Aliases(table.ToString());
        Assert.Equal([Level(AliasModifier.MaxDepth)], aliases.Expand(Level(0)));
        Assert.Equal([Level(15)], aliases.Expand(Level(5)));

        static string Level(int i) => $"level{i}@example.test";
    }

    [Fact]
    public void DuplicatesAreDroppedKeepingTheFirst()
    {
        var aliases = Aliases(
            "list@example.test: Bob@Example.test, alice@example.test, bob@example.test, sub@example.test, alice@example.test\n" +
            "sub@example.test: ALICE@example.test, carol@example.test\n");
        Assert.Equal(["Bob@Example.test", "alice@example.test", "carol@example.test"], aliases.Expand("list@example.test"));
    }

    [Fact]
    public void AnExpansionHasAtMost1000Addresses()
    {
        var first = string.Join(", ", Enumerable.Range(0, 700).Select(i => $"u{i}@example.test"));
        var second = string.Join(", ", Enumerable.Range(600, 700).Select(i => $"u{i}@example.test"));
        var aliases = Aliases(
            $"big@example.test: one@example.test, two@example.test\none@example.test: {first}\ntwo@example.test: {second}\n");
        var result = aliases.Expand("big@example.test");
        Assert.Equal(AliasModifier.MaxAddresses, result.Count);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"u{i}@example.test"), result);
    }

    [Fact]
    public void ManySharedSublistsAreExpandedOnce()
    {
        // Ten levels of 20 keys that each point to all 20 keys of the next level: 20^10 paths, 20 addresses.
        var table = new StringBuilder();
        for (var level = 0; level < 10; level++)
            for (var i = 0; i < 20; i++)
            {
                table.Append($"l{level}-{i}@example.test:");
                for (var j = 0; j < 20; j++)
                    table.Append(j == 0 ? " " : ", ").Append($"l{level + 1}-{j}@example.test");
                table.Append('\n');
            }
        var aliases = Aliases(table.ToString());
        var result = aliases.Expand("l0-0@example.test");
        Assert.Equal(Enumerable.Range(0, 20).Select(j => $"l10-{j}@example.test"), result);
    }

    [Fact]
    public void DomainKeysMapEveryAddressWithoutAnExactEntry()
    {
        var aliases = Aliases(
            "@old.test: @new.test\n" +
            "boss@old.test: ceo@new.test\n" +
            "@catch.test: inbox@example.test, @archive.test\n" +
            "@new.test: @final.test\n");
        Assert.Equal(["Alice@final.test"], aliases.Expand("Alice@OLD.test"));
        Assert.Equal(["ceo@final.test"], aliases.Expand("boss@old.test"));
        Assert.Equal(["inbox@example.test", "anyone@archive.test"], aliases.Expand("anyone@catch.test"));
        Assert.Equal(["someone@sub.old.test"], aliases.Expand("someone@sub.old.test"));
    }

    [Fact]
    public void ADomainKeyThatPointsBackIsACycle()
    {
        var aliases = Aliases("@a.test: @b.test\n@b.test: @a.test, copy@c.test\n");
        Assert.Equal(["x@a.test", "copy@c.test"], aliases.Expand("x@a.test"));
    }

    [Theory]
    [InlineData("sales@example.test alice@example.test\n", 1, "'sales@example.test alice@example.test' has no ':'")]
    [InlineData("# c\n\nx: alice@example.test\n", 3, "'x' is not an address or @domain")]
    [InlineData("a@b@c.test: alice@example.test\n", 1, "'a@b@c.test' is not an address or @domain")]
    [InlineData("@bad_domain: @new.test\n", 1, "'@bad_domain' is not an address or @domain")]
    [InlineData("a@example.test: alice@example.test, bob\n", 1, "'bob' is not an address")]
    [InlineData("a@example.test: @new.test\n", 1, "'@new.test' (a domain) is only a target of an @domain key")]
    [InlineData("@x.test: @@y.test\n", 1, "'@@y.test' is not an address or @domain")]
    [InlineData("a@example.test:\n", 1, "'a@example.test' has no targets")]
    [InlineData("a@example.test: b@example.test\nA@Example.test: c@example.test\n", 2, "'A@Example.test' is already a key (line 1)")]
    public void TableErrorsNameTheFileAndLine(string table, int line, string reason)
    {
        var (config, path) = Broken(table);
        AssertError(config, "table", $"{path} line {line}: {reason}");
    }

    [Fact]
    public void EveryBadLineIsReported()
    {
        var (config, path) = Broken("ok@example.test: a@example.test\nnot a line\nx: y\n");
        Assert.Equal(2, config.Errors.Count);
        AssertError(config, "table", $"{path} line 2:");
        AssertError(config, "table", $"{path} line 3:");
    }

    [Fact]
    public void AMissingTableIsAConfigError()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hermod-{Guid.NewGuid():N}-missing.txt");
        var config = ConfigSection.Parse("alias", $"table: '{path}'\n");
        _ = new AliasModifier(config);
        AssertError(config, "table", $"cannot read '{path}'");

        var none = ConfigSection.Parse("alias", "file: x\n");
        _ = new AliasModifier(none);
        AssertError(none, "table", "is required");
        AssertError(none, "file", "unknown key (known here: table)");
    }
}
