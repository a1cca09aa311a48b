using System.Buffers;
using Hermod.Core.Storage;
using Microsoft.Data.Sqlite;

namespace Hermod.Storage.Sqlite.Tests;

/// <summary>What the storage tests do to a store: write a body as a session does, read a message back, query the database.</summary>
internal static class StoreKit
{
    /// <summary>Writes <paramref name="body"/> 1000 bytes at a time, flushing a chunk whenever the writer asks (as a session does); not accepted yet.</summary>
    public static async Task<IBlobWriter> WriteBodyAsync(IMessageStore store, byte[] body)
    {
        var blob = store.CreateBlobWriter();
        for (var offset = 0; offset < body.Length; offset += 1000)
        {
            blob.Write(body.AsSpan(offset, Math.Min(1000, body.Length - offset)));
            if (blob.ShouldFlush)
                await blob.FlushAsync(default);
        }
        return blob;
    }

    /// <summary>The message as stored: its trace prefix, then its body.</summary>
    public static async Task<byte[]> ReadAsync(IMessageStore store, string id)
    {
        using var content = new MemoryStream();
        Assert.True(await store.CopyContentAsync(id, content, default));
        return content.ToArray();
    }

    /// <summary>One number from the database at <paramref name="databasePath"/> (parameters $p0, $p1, ...).</summary>
    public static long Scalar(string databasePath, string sql, params object[] values)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++)
            command.Parameters.AddWithValue("$p" + i, values[i]);
        return (long)command.ExecuteScalar()!;
    }
}
