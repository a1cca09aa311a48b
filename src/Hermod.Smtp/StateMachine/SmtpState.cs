namespace Hermod.Smtp.StateMachine;

/// <summary>Where a session stands between commands.</summary>
public enum SmtpState
{
    /// <summary>Greeting sent, no HELO/EHLO yet.</summary>
    Connected,
    /// <summary>Greeted; no mail transaction.</summary>
    Ready,
    /// <summary>MAIL accepted, no recipient yet.</summary>
    MailGiven,
    /// <summary>At least one recipient accepted.</summary>
    RcptGiven,
    /// <summary>Inside a BDAT sequence (a chunk without LAST was received).</summary>
    Bdat,
}
