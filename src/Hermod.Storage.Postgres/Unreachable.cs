using Hermod.Core.Storage;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// Which driver errors mean that the database cannot be used for now, as <see cref="StorageUnavailableException"/>:
/// every <see cref="NpgsqlException"/> that is not the server's answer to a statement (a connection refused, broken
/// or timed out, the pool exhausted), and the server's own connection errors — class 08, shutting down
/// (57P01, 57P02), starting up (57P03), too many connections (53300). A constraint or a bad statement is not.
/// </summary>
internal static class Unreachable
{
    public static bool Is(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                or PostgresErrorCodes.TooManyConnections,
        NpgsqlException => true,
        _ => false,
    };

    public static StorageUnavailableException Wrap(Exception e) => new($"PostgreSQL cannot be used: {e.Message}", e);

    /// <summary><paramref name="e"/> as the host should see it: wrapped when the database could not be reached, else as it is.</summary>
    public static Exception? Translate(Exception? e) => e is not null && Is(e) ? Wrap(e) : e;
}
