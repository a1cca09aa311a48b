using System.Diagnostics.CodeAnalysis;
using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>
/// The outcome of <see cref="SmtpClientConnection.ConnectAsync"/>: a ready connection, or the reply that refused
/// one. A refusal is either the server's own reply (a 554 greeting, a 421, EHLO and HELO both refused, a failed
/// AUTH, STARTTLS refused under <see cref="TlsPolicy.Required"/>) or, when <see cref="FromServer"/> is false, a
/// reply the client made up for a local policy (TLS required but not offered, credentials but no AUTH or no TLS).
/// </summary>
public sealed class SmtpConnectResult
{
    private SmtpConnectResult(SmtpClientConnection? connection, SmtpClientStage stage, SmtpReply? reply, bool fromServer, IReadOnlyList<string> transcript)
    {
        Connection = connection;
        Stage = stage;
        Reply = reply;
        FromServer = fromServer;
        Transcript = transcript;
    }

    internal static SmtpConnectResult Success(SmtpClientConnection connection) =>
        new(connection, SmtpClientStage.Hello, null, true, []);

    internal static SmtpConnectResult Failure(SmtpClientStage stage, SmtpReply reply, bool fromServer, IReadOnlyList<string> transcript) =>
        new(null, stage, reply, fromServer, transcript);

    /// <summary>The connection, ready for <see cref="SmtpClientConnection.SendAsync"/>; null on failure.</summary>
    public SmtpClientConnection? Connection { get; }

    [MemberNotNullWhen(true, nameof(Connection))]
    [MemberNotNullWhen(false, nameof(Reply))]
    public bool Succeeded => Connection is not null;

    /// <summary>The step that failed.</summary>
    public SmtpClientStage Stage { get; }

    /// <summary>Why it failed; null on success.</summary>
    public SmtpReply? Reply { get; }

    /// <summary>False when <see cref="Reply"/> was made up by the client (a local policy), not sent by the server.</summary>
    public bool FromServer { get; }

    /// <summary>Retry later (a 4xx or a local policy failure) rather than give up (a 5xx from the server).</summary>
    public bool IsTransient => Reply is null || Reply.Code < 500;

    /// <summary>The conversation up to the failure, AUTH redacted (empty on success: see <see cref="SmtpClientConnection.Transcript"/>).</summary>
    public IReadOnlyList<string> Transcript { get; }

    public override string ToString() => Succeeded ? $"connected to {Connection.RemoteEndPoint}" : $"{Stage} failed: {Reply}";
}
