using System.Globalization;

namespace Hermod.Core.Text;

/// <summary>RFC 5322 3.3 dates as Hermod writes them (Date, Received, DSN fields): always in UTC.</summary>
public static class Rfc5322
{
    public static string Date(DateTimeOffset time) =>
        time.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
}
