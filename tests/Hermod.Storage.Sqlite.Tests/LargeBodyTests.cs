using Hermod.TestKit.Storage;
using Xunit.Abstractions;

namespace Hermod.Storage.Sqlite.Tests;

[Collection(AloneCollection.Name)]
public sealed class LargeBodyTests(ITestOutputHelper output) : LargeBodyContract<SqliteMessageStore>(new SqliteHarness(), output);
