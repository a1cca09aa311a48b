using Hermod.TestKit;
using Hermod.TestKit.Storage;

namespace Hermod.Storage.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class MessageStoreContractTests(PostgresServer server) : MessageStoreContract<PostgresMessageStore>(new PostgresHarness(server));
