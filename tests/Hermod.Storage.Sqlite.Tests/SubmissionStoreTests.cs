using Hermod.TestKit.Storage;

namespace Hermod.Storage.Sqlite.Tests;

public sealed class SubmissionStoreTests() : SubmissionContract<SqliteMessageStore>(new SqliteHarness());
