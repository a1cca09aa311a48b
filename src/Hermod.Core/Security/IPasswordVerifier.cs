using Hermod.Core.Configuration;

namespace Hermod.Core.Security;

/// <summary>Checks SMTP AUTH credentials.</summary>
public interface IPasswordVerifier
{
    bool Verify(string user, string password);
}

/// <summary>The users of the configuration file (name + hash from 'hermod hash-password').</summary>
public sealed class ConfiguredUsers(HermodOptions options) : IPasswordVerifier
{
    private readonly Dictionary<string, string> _hashes = options.Users.ToDictionary(u => u.Name, u => u.PasswordHash, StringComparer.Ordinal);

    // A dummy hash keeps the time of "no such user" close to that of "wrong password".
    private static readonly string Dummy = PasswordHasher.Hash(Guid.NewGuid().ToString());

    public bool Verify(string user, string password)
    {
        var known = _hashes.TryGetValue(user, out var hash);
        return PasswordHasher.Verify(password, hash ?? Dummy) && known;
    }
}
