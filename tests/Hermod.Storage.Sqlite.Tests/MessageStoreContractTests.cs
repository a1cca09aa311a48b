using Hermod.TestKit.Storage;

namespace Hermod.Storage.Sqlite.Tests;

public sealed class MessageStoreContractTests() : MessageStoreContract<SqliteMessageStore>(new SqliteHarness());
