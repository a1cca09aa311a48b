using Hermod.TestKit;
using Hermod.TestKit.Storage;
using Xunit.Abstractions;

namespace Hermod.Storage.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class LargeBodyTests(PostgresServer server, ITestOutputHelper output) : LargeBodyContract<PostgresMessageStore>(new PostgresHarness(server), output);
