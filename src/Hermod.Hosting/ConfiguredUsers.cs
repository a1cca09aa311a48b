using Hermod.Core.Security;
using Hermod.Hosting.Configuration;

namespace Hermod.Hosting;

/// <summary>The users of the configuration file (name + hash from 'hermod hash-password').</summary>
internal sealed class ConfiguredUsers(IEnumerable<UserOptions> users) : IPasswordVerifier
{
    private readonly Dictionary<string, string> _hashes = users.ToDictionary(u => u.Name, u => u.PasswordHash, StringComparer.Ordinal);

    // A dummy hash keeps the time of "no such user" close to that of "wrong password".
    private static readonly string Dummy = PasswordHasher.Hash(Guid.NewGuid().ToString());

    public bool Verify(string user, string password)
    {
        var known = _hashes.TryGetValue(user, out var hash);
        return PasswordHasher.Verify(password, hash ?? Dummy) && known;
    }
}
