using System.Net;
using System.Net.Sockets;

namespace Hermod.Storage.Postgres.Tests;

/// <summary>What <see cref="DatabaseProxy"/> does to the connections through it.</summary>
public enum ProxyMode
{
    /// <summary>Passes every byte both ways.</summary>
    Pass,

    /// <summary>The database is gone: every connection is closed, and every new one at once.</summary>
    Down,

    /// <summary>The next COMMIT never reaches the server: its connection is closed instead (the transaction rolls back).</summary>
    CutBeforeCommit,

    /// <summary>The next COMMIT reaches the server, which commits, and its answer is lost: the connection is closed instead.</summary>
    CutAfterCommit,
}

/// <summary>
/// A TCP proxy on loopback in front of the test's PostgreSQL, to lose the database (or one answer) without stopping the
/// server the other tests share. A cut is done once, then the proxy passes again. It looks for a transaction's end as
/// Npgsql sends it: a simple query of its own, <c>Q</c> + length + <c>COMMIT\0</c>, or a statement of a batch (the
/// extended protocol), <c>P</c> + length + an unnamed statement's empty name + <c>COMMIT\0</c>.
/// </summary>
public sealed class DatabaseProxy : IAsyncDisposable
{
    private static readonly byte[] Commit = [(byte)'Q', 0, 0, 0, 11, .. "COMMIT\0"u8];

    /// <summary>A Parse message's unnamed statement <c>COMMIT</c>, from its name on: the message begins 5 bytes before.</summary>
    private static readonly byte[] ParseCommit = [0, .. "COMMIT\0"u8];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _serverPort;
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private ProxyMode _mode;
    private int _cuts;

    public DatabaseProxy(int serverPort)
    {
        _serverPort = serverPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections cut at a COMMIT so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    public ProxyMode Mode
    {
        get => _mode;
        set
        {
            _mode = value;
            if (value == ProxyMode.Down)
                CloseAll();
        }
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // disposed
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var server = new TcpClient();
        Track(client);
        Track(server);
        try
        {
            if (_mode == ProxyMode.Down)
                return;
            await server.ConnectAsync(IPAddress.Loopback, _serverPort);
            var swallowReply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await Task.WhenAny(UpAsync(client.GetStream(), server.GetStream(), swallowReply), DownAsync(server.GetStream(), client.GetStream(), swallowReply.Task));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // a side closed
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    /// <summary>Client to server; at an armed COMMIT, closes before it, or passes it and has the server's answer swallowed.</summary>
    private async Task UpAsync(Stream from, Stream to, TaskCompletionSource swallowReply)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer)) > 0)
        {
            var mode = _mode;
            var commit = mode is ProxyMode.CutBeforeCommit or ProxyMode.CutAfterCommit ? FindCommit(buffer.AsSpan(0, n)) : -1;
            if (commit >= 0)
            {
                _mode = ProxyMode.Pass;
                Interlocked.Increment(ref _cuts);
                if (mode == ProxyMode.CutBeforeCommit)
                {
                    await to.WriteAsync(buffer.AsMemory(0, commit));
                    return;
                }
                swallowReply.TrySetResult();
            }
            await to.WriteAsync(buffer.AsMemory(0, n));
        }
    }

    /// <summary>Where a COMMIT's message begins in <paramref name="data"/>; -1 when there is none.</summary>
    private static int FindCommit(ReadOnlySpan<byte> data)
    {
        var simple = data.IndexOf(Commit);
        if (simple >= 0)
            return simple;
        var parse = data.IndexOf(ParseCommit);
        return parse >= 5 && data[parse - 5] == (byte)'P' ? parse - 5 : -1;
    }

    /// <summary>Server to client, until the answer to a cut COMMIT arrives: that one is dropped with the connection.</summary>
    private static async Task DownAsync(Stream from, Stream to, Task swallowReply)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer)) > 0)
        {
            if (swallowReply.IsCompleted)
                return;
            await to.WriteAsync(buffer.AsMemory(0, n));
        }
    }

    private void Track(TcpClient client)
    {
        lock (_open)
            _open.Add(client);
    }

    private void CloseAll()
    {
        lock (_open)
        {
            foreach (var client in _open)
                client.Dispose();
            _open.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting;
        CloseAll();
    }
}
