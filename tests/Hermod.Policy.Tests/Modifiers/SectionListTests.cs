using Hermod.Core.Configuration;
using static Hermod.Policy.Tests.Modifiers.ModifierTestKit;

namespace Hermod.Policy.Tests.Modifiers;

/// <summary><see cref="ConfigSection.Sections"/>: lists of mappings, whose problems the parent reports.</summary>
public sealed class SectionListTests
{
    [Fact]
    public void EachItemIsASectionKeyedByItsIndex()
    {
        var config = ConfigSection.Parse("dkim_sign", "keys:\n  - domain: a.test\n    selector: s1\n  - domain: b.test\n    selector: s2\n");
        var sections = config.Sections("keys");
        Assert.NotNull(sections);
        Assert.Equal(["dkim_sign.keys[0]", "dkim_sign.keys[1]"], sections.Select(s => s.Key));
        Assert.Equal(["a.test", "b.test"], sections.Select(s => s.String("domain")));
        AssertValid(config);
    }

    [Fact]
    public void ProblemsOfAnItemAreTheParentsErrors()
    {
        var config = ConfigSection.Parse("dkim_sign", "keys:\n  - domain: a.test\n    colour: red\n  - selector: [x]\n");
        var sections = config.Sections("keys")!;
        sections[0].Known("domain", "selector");
        sections[1].Error("selector", "is wrong");
        sections[1].Int("selector", 1, 2);
        AssertError(config, "keys[0].colour", "unknown key");
        AssertError(config, "keys[1].selector", "is wrong");
        AssertError(config, "keys[1].selector", "must be a single value");
        Assert.Equal(3, config.Errors.Count);
        Assert.Contains("dkim_sign:3: dkim_sign.keys[0].colour: unknown key", config.Errors[0]);
    }

    [Fact]
    public void AbsentIsNullAndWrongShapesAreErrors()
    {
        var config = ConfigSection.Parse("dkim_sign", "keys: one\nother:\n  - x\n  - a: b\n");
        Assert.Null(config.Sections("missing"));
        Assert.Null(config.Sections("keys"));
        AssertError(config, "keys", "must be a list of mappings");
        var other = config.Sections("other");
        Assert.Equal("dkim_sign.other[1]", Assert.Single(other!).Key);
        AssertError(config, "other[0]", "must be a mapping of keys");
    }
}
