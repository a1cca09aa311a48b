using System.Globalization;
using System.Text.RegularExpressions;
using Hermod.Core.Configuration;

namespace Hermod.Policy.Modifiers;

/// <summary>
/// The rule of <see cref="RewriteSenderModifier"/> and <see cref="RewriteRecipientModifier"/>: <c>{ pattern, replacement }</c>.
/// The pattern is a .NET regular expression matched against the whole address (case-insensitive, culture-invariant, with a
/// match timeout); its first match is replaced. The null sender is never rewritten, and a result that is not a plausible
/// address (or a match that times out) leaves the address unchanged.
/// </summary>
internal sealed class AddressRewriter
{
    /// <summary>The longest one match may take; past it the address is left as it is.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private readonly Regex? _regex;
    private readonly string _replacement;

    public AddressRewriter(ConfigSection config)
    {
        config.Known("pattern", "replacement");
        var pattern = ModifierText.Required(config, "pattern");
        _replacement = ModifierText.Required(config, "replacement") ?? "";
        if (pattern is null)
            return;
        try
        {
            _regex = new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            config.Error("pattern", $"'{pattern}' is not a valid regular expression: {e.Message}");
            return;
        }
        if (UnknownGroup(_regex, _replacement) is { } reference)
            config.Error("replacement", $"'{reference}' refers to no group of the pattern (write $$ for a literal '$')");
    }

    /// <summary>The rewritten address, or <paramref name="address"/> itself.</summary>
    public string Rewrite(string address)
    {
        if (_regex is null || address.Length == 0)
            return address;
        string result;
        try
        {
            result = _regex.Replace(address, _replacement, 1);
        }
        catch (RegexMatchTimeoutException)
        {
            return address;
        }
        return ModifierText.IsAddress(result) ? result : address;
    }

    /// <summary>The first "$n" or "${name}" of <paramref name="replacement"/> that names no group of <paramref name="regex"/>, or null.</summary>
    internal static string? UnknownGroup(Regex regex, string replacement)
    {
        for (var i = 0; i < replacement.Length - 1; i++)
        {
            if (replacement[i] != '$')
                continue;
            var next = replacement[i + 1];
            if (next == '$')
            {
                i++;
                continue;
            }
            if (char.IsAsciiDigit(next))
            {
                var end = i + 1;
                while (end < replacement.Length && char.IsAsciiDigit(replacement[end]))
                    end++;
                var digits = replacement[(i + 1)..end];
                if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || regex.GroupNameFromNumber(number).Length == 0)
                    return replacement[i..end];
                i = end - 1;
            }
            else if (next == '{')
            {
                var close = replacement.IndexOf('}', i + 2);
                if (close < 0)
                    continue;
                var name = replacement[(i + 2)..close];
                var known = int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                    ? regex.GroupNameFromNumber(number).Length > 0
                    : regex.GroupNumberFromName(name) >= 0;
                if (!known)
                    return replacement[i..(close + 1)];
                i = close;
            }
        }
        return null;
    }
}
