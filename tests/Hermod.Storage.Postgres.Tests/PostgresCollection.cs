using Hermod.TestKit;

namespace Hermod.Storage.Postgres.Tests;

/// <summary>The tests that share this run's PostgreSQL cluster; each makes a database of its own.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
