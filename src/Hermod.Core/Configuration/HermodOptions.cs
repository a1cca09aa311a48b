namespace Hermod.Core.Configuration;

/// <summary>What every area reads: the name this server goes by (greetings, EHLO, DSNs, Message-IDs, the self-signed certificate) and the data directory.</summary>
public sealed class HermodOptions
{
    public string Hostname { get; set; } = System.Net.Dns.GetHostName();

    public string DataDir { get; set; } = "./data";
}
