using Hermod.TestKit.Storage;

namespace Hermod.Storage.Sqlite.Tests;

public sealed class RetentionTests() : RetentionContract<SqliteMessageStore>(new SqliteHarness());
