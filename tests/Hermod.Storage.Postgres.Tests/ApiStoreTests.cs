using Hermod.TestKit;
using Hermod.TestKit.Storage;

namespace Hermod.Storage.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ApiStoreTests(PostgresServer server) : ApiStoreContract<PostgresMessageStore>(new PostgresHarness(server));
