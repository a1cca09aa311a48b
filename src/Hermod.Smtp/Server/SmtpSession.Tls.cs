// SmtpSession: TLS — STARTTLS and the handshake (also on an implicit-TLS connect), after which the session starts over.
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using Hermod.Core.Diagnostics;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Server;

public sealed partial class SmtpSession
{
    private string TlsProtocol => _tls is null ? "" : $"{_tls.SslProtocol}";

    private bool CanStartTls => _listener.Tls == TlsMode.StartTls && _tls is null && _ctx.Certificate is not null;

    private bool StartTls(string argument)
    {
        if (argument.Length > 0)
            Error(SmtpReplies.StartTlsTakesNoArguments, RejectReason.Syntax);
        else if (!CanStartTls)
            Error(_tls is null ? SmtpReplies.TlsNotAvailable : SmtpReplies.TlsAlreadyActive, RejectReason.StartTls);
        else
        {
            Reply(SmtpReplies.ReadyForTls);
            _startTls = true; // the handshake follows once the reply is out; nothing more is read in plaintext
            return true;
        }
        return false;
    }

    private async Task<bool> StartTlsAsync(CancellationToken aborted)
    {
        var certificate = _ctx.Certificate;
        if (certificate is null)
            return false;
        var tls = new SslStream(new DuplexPipeStream(_transport), leaveInnerStreamOpen: false);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timer.CancelAfter(_ctx.Options.Timeouts.TlsHandshake);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, timer.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            LogTlsFailed(_ctx.Logger, _remote, e.Message);
            await tls.DisposeAsync();
            return false;
        }
        _tls = tls;
        _input = PipeReader.Create(tls);
        _output = PipeWriter.Create(tls);
        // RFC 3207 4.2: everything learned before TLS is forgotten (STARTTLS took the session back to Connected).
        ResetTransaction();
        _helo = "";
        _mode = Mode.Command;
        return true;
    }
}
