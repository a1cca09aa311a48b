using System.Net;

namespace Hermod.Core.Storage;

/// <summary>Where a message came from: stored with it for the trace, the API and policy. <see cref="Tenant"/>: the API tenant that sent it.</summary>
public sealed record MessageSource(string Listener, IPAddress ClientAddress, string Helo, string? AuthUser, string? TlsProtocol, string? Tenant = null);
