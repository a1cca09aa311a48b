namespace Hermod.Core.Security;

/// <summary>Checks SMTP AUTH credentials.</summary>
public interface IPasswordVerifier
{
    bool Verify(string user, string password);
}
