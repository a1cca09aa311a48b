using System.Net;

namespace Hermod.Core.Pipeline;

/// <summary>What the pipeline knows of the client at a stage.</summary>
public sealed record SessionInfo(string Listener, IPAddress ClientAddress, string Helo, string? AuthUser, bool Tls);
