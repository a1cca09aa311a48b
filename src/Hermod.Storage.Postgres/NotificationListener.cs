using Hermod.Core.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// Wakes this node when another one commits work (LISTEN/NOTIFY): one connection listens on the store's channels and
/// sets the matching signal per notification. While it is disconnected, nothing is heard: the queue runner's idle
/// check is the fallback; once connected again every signal is set, in case something was missed.
/// </summary>
internal sealed partial class NotificationListener : IAsyncDisposable
{
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public NotificationListener(NpgsqlDataSource source, IReadOnlyDictionary<string, QueueSignal> channels, ILogger logger) =>
        _loop = Task.Run(() => RunAsync(source, channels, logger, _stop.Token));

    private static async Task RunAsync(NpgsqlDataSource source, IReadOnlyDictionary<string, QueueSignal> channels, ILogger logger, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await source.OpenConnectionAsync(stop);
                connection.Notification += (_, e) =>
                {
                    if (channels.TryGetValue(e.Channel, out var signal))
                        signal.Set();
                };
                foreach (var channel in channels.Keys)
                    await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
                        await listen.ExecuteNonQueryAsync(stop);
                foreach (var signal in channels.Values)
                    signal.Set();
                while (true)
                    await connection.WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                LogListenFailed(logger, e, Reconnect.TotalSeconds);
                try
                {
                    await Task.Delay(Reconnect, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    [LoggerMessage(2102, LogLevel.Warning, "Listening for other nodes' notifications failed; trying again in {Seconds} s")]
    private static partial void LogListenFailed(ILogger logger, Exception e, double seconds);
}
