using System.Text;
using Hermod.Core.Configuration;
using Hermod.Policy.Modifiers;
using static Hermod.Policy.Tests.Modifiers.ModifierTestKit;

namespace Hermod.Policy.Tests.Modifiers;

/// <summary>add_header and remove_header.</summary>
public sealed class HeaderModifierTests
{
    private const string Block =
        "Received: from a.test\r\n" +
        "\tby b.test; Sat, 22 Nov 2025 12:00:00 +0000\r\n" +
        "From: Alice <alice@example.test>\r\n" +
        "X-Spam:  yes\r\n" +
        "Subject: folded\r\n" +
        " subject line\r\n" +
        "x-spam: again\r\n" +
        "X-Other: keep\r\n" +
        "\r\n";

    private static AddHeaderModifier Add(string yaml) => new(ConfigSection.Parse("add_header", yaml));

    [Fact]
    public async Task AddHeaderPrependsTheFieldAndKeepsTheRestByteForByte()
    {
        var config = ConfigSection.Parse("add_header", "name: X-Hermod\nvalue: 'checked; by=hermod'\n");
        var modifier = new AddHeaderModifier(config);
        AssertValid(config);
        Assert.Equal(("add_header", ModifierStages.Header), (modifier.Name, modifier.Stages));
        var header = Header(Block);
        Assert.False(header.Changed);
        await modifier.ModifyHeaderAsync(header, Context(), default);
        Assert.True(header.Changed);
        Assert.Equal("X-Hermod: checked; by=hermod\r\n" + Block, Text(header));
        Assert.Equal("checked; by=hermod", header.Get("x-hermod"));

        var reparsed = Header(Text(header));
        Assert.Equal(header.Fields, reparsed.Fields);
        Assert.Equal(Text(header), Text(reparsed));
    }

    [Fact]
    public async Task AddHeaderWritesNonAsciiValuesAsUtf8()
    {
        var modifier = Add("name: X-Greeting\nvalue: Grüße\n");
        var header = Header(Block);
        await modifier.ModifyHeaderAsync(header, Context(), default);
        var bytes = header.ToBytes();
        Assert.Equal(Encoding.UTF8.GetBytes("X-Greeting: Grüße\r\n"), bytes[..Encoding.UTF8.GetByteCount("X-Greeting: Grüße\r\n")]);
    }

    [Fact]
    public async Task AddHeaderAllowsAnEmptyValue()
    {
        var config = ConfigSection.Parse("add_header", "name: X-Empty\nvalue: ''\n");
        var modifier = new AddHeaderModifier(config);
        AssertValid(config);
        var header = Header("");
        await modifier.ModifyHeaderAsync(header, Context(), default);
        Assert.Equal("X-Empty: \r\n\r\n", Text(header));
    }

    [Theory]
    [InlineData("'X Space'")]
    [InlineData("'X:Colon'")]
    [InlineData("''")]
    [InlineData("X-Ümlaut")]
    [InlineData("\"X-Tab\\t\"")]
    public void AddHeaderRejectsInvalidNames(string name)
    {
        var config = ConfigSection.Parse("add_header", $"name: {name}\nvalue: b\n");
        _ = new AddHeaderModifier(config);
        AssertError(config, "name", "is not a valid header field name");
        Assert.Single(config.Errors);
    }

    [Theory]
    [InlineData("\"a\\r\\nBcc: evil@example.test\"", "CR and LF are not allowed")]
    [InlineData("\"a\\nb\"", "CR and LF are not allowed")]
    [InlineData("\"a\\rb\"", "CR and LF are not allowed")]
    [InlineData("\"a\\0b\"", "control characters")]
    public void AddHeaderRejectsValuesThatAreNotOneLine(string value, string reason)
    {
        var config = ConfigSection.Parse("add_header", $"name: X-A\nvalue: {value}\n");
        _ = new AddHeaderModifier(config);
        AssertError(config, "value", reason);
        Assert.Single(config.Errors);
    }

    [Fact]
    public void AddHeaderRejectsALineLongerThan998Octets()
    {
        var fits = ConfigSection.Parse("add_header", $"name: X-A\nvalue: {new string('v', 998 - 5)}\n");
        _ = new AddHeaderModifier(fits);
        AssertValid(fits);
        var config = ConfigSection.Parse("add_header", $"name: X-A\nvalue: {new string('v', 998 - 4)}\n");
        _ = new AddHeaderModifier(config);
        AssertError(config, "value", "is too long");
    }

    [Fact]
    public void AddHeaderReportsMissingAndUnknownKeys()
    {
        var config = ConfigSection.Parse("add_header", "nmae: X-A\n");
        _ = new AddHeaderModifier(config);
        AssertError(config, "nmae", "unknown key (known here: name, value)");
        AssertError(config, "name", "is required");
        AssertError(config, "value", "is required");
        Assert.Equal(3, config.Errors.Count);

        var list = ConfigSection.Parse("add_header", "name: [a, b]\nvalue: x\n");
        _ = new AddHeaderModifier(list);
        AssertError(list, "name", "must be a single value");
        Assert.Single(list.Errors);
    }

    [Fact]
    public async Task RemoveHeaderRemovesEveryFieldOfEachNameCaseInsensitively()
    {
        var config = ConfigSection.Parse("remove_header", "names: [X-SPAM, subject, X-Absent]\n");
        var modifier = new RemoveHeaderModifier(config);
        AssertValid(config);
        Assert.Equal(("remove_header", ModifierStages.Header), (modifier.Name, modifier.Stages));
        var header = Header(Block);
        await modifier.ModifyHeaderAsync(header, Context(), default);
        Assert.True(header.Changed);
        Assert.Equal(
            "Received: from a.test\r\n" +
            "\tby b.test; Sat, 22 Nov 2025 12:00:00 +0000\r\n" +
            "From: Alice <alice@example.test>\r\n" +
            "X-Other: keep\r\n" +
            "\r\n", Text(header));
    }

    [Fact]
    public async Task RemoveHeaderLeavesAHeaderWithoutThoseFieldsUnchanged()
    {
        var modifier = new RemoveHeaderModifier(ConfigSection.Parse("remove_header", "names: X-Absent, X-Gone\n"));
        Assert.Equal(["X-Absent", "X-Gone"], modifier.Names);
        var header = Header(Block);
        await modifier.ModifyHeaderAsync(header, Context(), default);
        Assert.False(header.Changed);
        Assert.Equal(Block, Text(header));
    }

    [Theory]
    [InlineData("", "names", "is required")]
    [InlineData("names: []\n", "names", "must list at least one header field name")]
    [InlineData("names: [X-A, 'bad name']\n", "names", "'bad name' is not a valid header field name")]
    [InlineData("names: {a: b}\n", "names", "must be a list")]
    [InlineData("names: [X-A]\nname: X-B\n", "name", "unknown key")]
    public void RemoveHeaderReportsBadOptions(string yaml, string key, string reason)
    {
        var config = ConfigSection.Parse("remove_header", yaml);
        _ = new RemoveHeaderModifier(config);
        AssertError(config, key, reason);
    }
}
