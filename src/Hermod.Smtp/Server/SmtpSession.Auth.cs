// SmtpSession: AUTH PLAIN and LOGIN (RFC 4954), over TLS unless the listener allows plaintext.
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Server;

public sealed partial class SmtpSession
{
    private bool CanAuth => _listener.Auth != AuthMode.None && _authUser is null && (_tls is not null || _listener.AllowPlaintextAuth);

    private async Task AuthAsync(string argument)
    {
        if (_listener.Auth == AuthMode.None)
        {
            Error(SmtpReplies.AuthNotAvailable, RejectReason.Auth);
            return;
        }
        if (_authUser is not null)
        {
            Error(SmtpReplies.AlreadyAuthenticated, RejectReason.Auth);
            return;
        }
        if (_tls is null && !_listener.AllowPlaintextAuth)
        {
            Error(SmtpReplies.EncryptionRequired, RejectReason.AuthWithoutTls);
            return;
        }
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2)
        {
            Error(SmtpReplies.AuthSyntax, RejectReason.Syntax);
            return;
        }
        _authMechanism = parts[0].ToUpperInvariant();
        _authLoginUser = null;
        var initial = parts.Length == 2 ? parts[1] : null;
        switch (_authMechanism)
        {
            case "PLAIN" when initial is null:
                _mode = Mode.AuthResponse;
                Reply(SmtpReplies.PlainChallenge);
                break;
            case "PLAIN":
                await CompletePlainAsync(initial);
                break;
            case "LOGIN" when initial is null:
                _mode = Mode.AuthResponse;
                Reply(SmtpReplies.UsernameChallenge);
                break;
            case "LOGIN":
                await HandleAuthResponseAsync(initial);
                break;
            default:
                Error(SmtpReplies.UnknownMechanism, RejectReason.Auth);
                break;
        }
    }

    private async Task HandleAuthResponseAsync(string response)
    {
        _mode = Mode.Command;
        if (response == "*")
        {
            Error(SmtpReplies.AuthCancelled, RejectReason.Auth);
            return;
        }
        if (_authMechanism == "PLAIN")
        {
            await CompletePlainAsync(response);
            return;
        }
        if (!TryBase64(response, out var text))
        {
            Error(SmtpReplies.CannotDecode, RejectReason.Auth);
            return;
        }
        if (_authLoginUser is null)
        {
            _authLoginUser = text;
            _mode = Mode.AuthResponse;
            Reply(SmtpReplies.PasswordChallenge);
            return;
        }
        await VerifyAsync(_authLoginUser, text);
    }

    private async Task CompletePlainAsync(string response)
    {
        // authzid NUL authcid NUL passwd (RFC 4616); an authzid other than the authcid is not allowed.
        string[] fields;
        if (response == "=")
            fields = [];
        else if (!TryBase64(response, out var text) || (fields = text.Split('\0')).Length != 3)
        {
            Error(SmtpReplies.CannotDecode, RejectReason.Auth);
            return;
        }
        if (fields.Length != 3 || (fields[0].Length > 0 && fields[0] != fields[1]))
        {
            Error(SmtpReplies.AuthFailed, RejectReason.AuthFailed);
            return;
        }
        await VerifyAsync(fields[1], fields[2]);
    }

    private async Task VerifyAsync(string user, string password)
    {
        var passwords = _ctx.Passwords;
        if (await Task.Run(() => passwords.Verify(user, password)))
        {
            _authUser = user;
            LogAuthenticated(_ctx.Logger, _remote, user);
            Reply(SmtpReplies.AuthOk);
        }
        else
        {
            LogAuthFailed(_ctx.Logger, _remote, PathParser.Sanitize(user));
            Error(SmtpReplies.AuthFailed, RejectReason.AuthFailed);
        }
    }

    private static bool TryBase64(string s, out string text)
    {
        text = "";
        var bytes = new byte[s.Length];
        if (!Convert.TryFromBase64String(s, bytes, out var n))
            return false;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes, 0, n);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
