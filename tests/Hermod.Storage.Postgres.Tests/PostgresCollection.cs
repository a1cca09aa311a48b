using Hermod.TestKit;

namespace Hermod.Storage.Postgres.Tests;

/// <summary>
/// The tests that share this run's PostgreSQL cluster; each makes a database of its own. Not run in parallel with
/// anything else: <see cref="LargeBodyTests"/> measures the whole process's live heap.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
