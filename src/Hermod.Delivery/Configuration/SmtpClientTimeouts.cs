namespace Hermod.Delivery.Configuration;

/// <summary>RFC 5321 4.5.3.2 client timeouts.</summary>
public sealed class SmtpClientTimeouts
{
    public TimeSpan Connect { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan Command { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataBlock { get; set; } = TimeSpan.FromMinutes(3);
    public TimeSpan DataEnd { get; set; } = TimeSpan.FromMinutes(10);
}
