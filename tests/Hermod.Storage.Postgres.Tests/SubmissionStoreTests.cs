using Hermod.TestKit;
using Hermod.TestKit.Storage;

namespace Hermod.Storage.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class SubmissionStoreTests(PostgresServer server) : SubmissionContract<PostgresMessageStore>(new PostgresHarness(server));
