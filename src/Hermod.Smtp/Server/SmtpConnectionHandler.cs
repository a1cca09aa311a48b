using System.Net;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Protocol;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Hermod.Smtp.Server;

/// <summary>Kestrel connection entry for one SMTP listener: connection limits, then a session.</summary>
public sealed partial class SmtpConnectionHandler(SmtpServerContext context, ListenerOptions listener, CancellationToken stopping) : ConnectionHandler
{
    public ListenerOptions Listener { get; } = listener;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        var tags = new KeyValuePair<string, object?>("listener", Listener.Name);
        var admitted = context.Limiter.TryAcquire(remote);
        if (admitted != ConnectionLimiter.Result.Ok)
        {
            context.Metrics.ConnectionsRefused.Add(1, tags);
            LogRefused(context.Logger, remote, admitted);
            if (Listener.Tls != TlsMode.Implicit) // a plaintext reply would only confuse a TLS client
            {
                var reply = admitted == ConnectionLimiter.Result.TooManyTotal ? SmtpReplies.TooManyConnections : SmtpReplies.TooManyConnectionsFromIp;
                reply.WriteTo(connection.Transport.Output);
                await connection.Transport.Output.FlushAsync(CancellationToken.None);
            }
            return;
        }
        context.Metrics.Connections.Add(1, tags);
        context.Metrics.ActiveSessions.Add(1, tags);
        try
        {
            await using var session = new SmtpSession(context, Listener, connection.Transport, remote, stopping);
            await session.RunAsync(connection.ConnectionClosed);
        }
        finally
        {
            context.Metrics.ActiveSessions.Add(-1, tags);
            context.Limiter.Release(remote);
        }
    }

    [LoggerMessage(1010, LogLevel.Information, "Refused connection from [{Remote}]: {Reason}")]
    private static partial void LogRefused(ILogger logger, IPAddress remote, ConnectionLimiter.Result reason);
}
