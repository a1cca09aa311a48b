using System.Globalization;

namespace Hermod.Core.Configuration;

/// <summary>Parses the size ("50MB") and duration ("5m") notations used in configuration.</summary>
public static class Units
{
    /// <summary>Bytes; units B, KB, MB, GB (binary: 1KB = 1024 bytes), KiB, MiB, GiB also accepted.</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var s = text.Trim();
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            i++;
        if (i == 0 || !long.TryParse(s.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            return false;
        long factor = s[i..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            _ => 0,
        };
        if (factor == 0 || n > long.MaxValue / factor)
            return false;
        bytes = n * factor;
        return true;
    }

    /// <summary>Durations: 250ms, 30s, 5m, 2h, 7d, or a plain number of seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var s = text.Trim();
        var i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            i++;
        if (i == 0 || !double.TryParse(s.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
            return false;
        double? ms = s[i..].Trim().ToLowerInvariant() switch
        {
            "ms" => n,
            "" or "s" => n * 1000,
            "m" => n * 60_000,
            "h" => n * 3_600_000,
            "d" => n * 86_400_000,
            _ => null,
        };
        if (ms is null || ms > TimeSpan.MaxValue.TotalMilliseconds)
            return false;
        duration = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }
}
