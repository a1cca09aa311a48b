using Hermod.TestKit;
using Hermod.TestKit.Storage;

namespace Hermod.Storage.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class RetentionTests(PostgresServer server) : RetentionContract<PostgresMessageStore>(new PostgresHarness(server));
