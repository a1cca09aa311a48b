using System.Globalization;

namespace Hermod.Mime.Writing;

/// <summary>RFC 5322 section 3.3 date-time: <c>Tue, 1 Jul 2003 10:52:37 +0200</c>.</summary>
internal static class DateFormat
{
    private static readonly string[] Days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    public static string Format(DateTimeOffset value)
    {
        var offset = value.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture,
            $"{Days[(int)value.DayOfWeek]}, {value.Day} {Months[value.Month - 1]} {value.Year:0000} {value.Hour:00}:{value.Minute:00}:{value.Second:00} {sign}{offset.Hours:00}{offset.Minutes:00}");
    }
}
