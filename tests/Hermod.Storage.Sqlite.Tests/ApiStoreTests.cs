using Hermod.TestKit.Storage;

namespace Hermod.Storage.Sqlite.Tests;

public sealed class ApiStoreTests() : ApiStoreContract<SqliteMessageStore>(new SqliteHarness());
