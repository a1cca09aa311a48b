namespace Hermod.Core.Configuration;

/// <summary>
/// What every area reads: the name this server goes by (greetings, EHLO, DSNs, Message-IDs, the self-signed
/// certificate), the data directory, and the name of this node among those sharing one store (cluster.node_name).
/// </summary>
public sealed class HermodOptions
{
    public string Hostname { get; set; } = System.Net.Dns.GetHostName();

    public string DataDir { get; set; } = "./data";

    /// <summary>Unique per node sharing a database: it names the node's leases and its row in the node table.</summary>
    public string NodeName { get; set; } = System.Net.Dns.GetHostName();
}
