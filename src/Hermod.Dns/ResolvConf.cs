using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Hermod.Dns;

/// <summary>Reads the "nameserver" lines of resolv.conf(5). Other directives are ignored.</summary>
public static class ResolvConf
{
    public const int DefaultPort = 53;

    /// <summary>
    /// The servers named in <paramref name="text"/>, in order, duplicates removed. A line is
    /// "nameserver ADDRESS"; '#' and ';' start comments; IPv4, IPv6 (with a %zone) are accepted, and as an extension
    /// "1.2.3.4:5353" or "[::1]:5353" give a port (default 53). Lines that do not parse are skipped, as glibc does.
    /// </summary>
    public static IReadOnlyList<IPEndPoint> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var servers = new List<IPEndPoint>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine;
            var comment = line.IndexOfAny(['#', ';']);
            if (comment >= 0)
                line = line[..comment];
            var fields = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || fields[0] != "nameserver")
                continue;
            if (TryParseServer(fields[1], out var server) && !servers.Contains(server))
                servers.Add(server);
        }
        return servers;
    }

    /// <summary>The servers of a resolv.conf file; an empty list when the file does not exist.</summary>
    public static IReadOnlyList<IPEndPoint> Load(string path = "/etc/resolv.conf")
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        return Parse(text);
    }

    private static bool TryParseServer(string field, [NotNullWhen(true)] out IPEndPoint? server)
    {
        // IPEndPoint first: IPAddress.TryParse would accept "[::1]:5353" and drop the port.
        if (IPEndPoint.TryParse(field, out var endPoint) && endPoint.Port != 0)
        {
            server = endPoint;
            return true;
        }
        if (IPAddress.TryParse(field, out var address))
        {
            server = new IPEndPoint(address, DefaultPort);
            return true;
        }
        server = null;
        return false;
    }
}
