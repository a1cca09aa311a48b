using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;
using Hermod.Hosting.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.QueueBench;

/// <summary>
/// The queue's claim and record path against a backlog, through the storage contract only (any provider the
/// configuration names): how the time to claim and record due deliveries grows with what waits beside them, and how
/// fast a backlog that falls due at once drains. See bench/README.md, "Queue".
/// </summary>
public static class Program
{
    private const int Recipients = 10; // per message, all to one route: a claimed group is one message's 10 deliveries
    private const int ClaimJobs = 100; // what the queue runner asks for per claim
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    public static async Task<int> Main(string[] args)
    {
        var options = Options.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine("usage: Hermod.QueueBench [--config hermod.yaml] [--waiting 1000000] [--due 10000] [--backlog 100000] [--small-backlog 1000]");
            return 2;
        }
        Console.WriteLine($"storage: {ConfigLoader.Load(options.Config).Storage.Provider}; {Recipients} recipients per message, claims of {ClaimJobs} messages");

        var few = await ClaimAsync(options, waiting: options.Due);
        var many = await ClaimAsync(options, waiting: options.Waiting);
        Console.WriteLine($"claim and record {options.Due} due deliveries: {few.TotalSeconds:F2} s with {options.Due} waiting, " +
            $"{many.TotalSeconds:F2} s with {options.Waiting} waiting: {many / few:F2}x (target <= 1.5x) {(many / few <= 1.5 ? "MET" : "MISSED")}");

        var small = await DrainAsync(options, options.SmallBacklog);
        var large = await DrainAsync(options, options.Backlog);
        Console.WriteLine($"backlog falling due at once, drained: {options.SmallBacklog} at {small.Rate:F0}/s ({small.CpuMicros:F0} us CPU each), " +
            $"{options.Backlog} at {large.Rate:F0}/s ({large.CpuMicros:F0} us CPU each): {small.Rate / large.Rate:F2}x slower (target <= 1.5x) " +
            $"{(small.Rate / large.Rate <= 1.5 ? "MET" : "MISSED")}");
        return 0;
    }

    /// <summary>The time to claim and record <c>Due</c> deliveries, with <paramref name="waiting"/> deliveries in the queue in all (the rest deferred a day).</summary>
    private static async Task<TimeSpan> ClaimAsync(Options options, int waiting)
    {
        await using var world = await World.OpenAsync(options);
        await world.AcceptAsync(waiting - options.Due);
        var setup = Stopwatch.StartNew();
        var deferred = await world.DrainAsync(AttemptStatus.Deferred); // the waiting ones: due tomorrow
        if (deferred > 0)
            Console.WriteLine($"  (setup: {deferred} deliveries due at once claimed and deferred in {setup.Elapsed.TotalSeconds:F1} s, {deferred / setup.Elapsed.TotalSeconds:F0}/s)");
        await world.AcceptAsync(options.Due);
        var clock = Stopwatch.StartNew();
        var drained = await world.DrainAsync(AttemptStatus.Delivered);
        clock.Stop();
        Check(drained, options.Due);
        return clock.Elapsed;
    }

    private static async Task<(double Rate, double CpuMicros)> DrainAsync(Options options, int backlog)
    {
        await using var world = await World.OpenAsync(options);
        await world.AcceptAsync(backlog);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var drained = await world.DrainAsync(AttemptStatus.Delivered);
        clock.Stop();
        Check(drained, backlog);
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return (drained / clock.Elapsed.TotalSeconds, used.TotalMicroseconds / drained);
    }

    private static void Check(int drained, int expected)
    {
        if (drained != expected)
            throw new InvalidOperationException($"drained {drained} deliveries, expected {expected}");
    }

    private sealed record Options(string? Config, int Waiting, int Due, int Backlog, int SmallBacklog)
    {
        public static Options? Parse(string[] args)
        {
            var o = new Options(null, 1_000_000, 10_000, 100_000, 1_000);
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                var value = args[i + 1];
                o = args[i] switch
                {
                    "--config" => o with { Config = value },
                    "--waiting" => o with { Waiting = Count(value) },
                    "--due" => o with { Due = Count(value) },
                    "--backlog" => o with { Backlog = Count(value) },
                    "--small-backlog" => o with { SmallBacklog = Count(value) },
                    _ => null!,
                };
                if (o is null)
                    return null;
            }
            return args.Length % 2 == 0 && o.Waiting >= o.Due ? o : null;
        }

        private static int Count(string text) => Math.Max(Recipients, int.Parse(text, CultureInfo.InvariantCulture) / Recipients * Recipients);
    }

    /// <summary>A store on a data directory of its own, opened as the server opens it, removed afterwards.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly ServiceProvider _services;
        private readonly string _dataDir;

        private World(ServiceProvider services, string dataDir)
        {
            _services = services;
            _dataDir = dataDir;
        }

        private IMessageStore Store => _services.GetRequiredService<IMessageStore>();

        private IDeliveryQueue Queue => _services.GetRequiredService<IDeliveryQueue>();

        private static int _opened;

        /// <summary>
        /// The configuration's store on a data directory of its own; a store that does not live in the data directory
        /// (a database server) gets its own database when the configuration says where: <c>{world}</c> in it becomes
        /// 1, 2, 3, 4 for the runs in turn (bench/queue.sh makes those databases).
        /// </summary>
        public static async Task<World> OpenAsync(Options options)
        {
            var dataDir = Directory.CreateTempSubdirectory("hermod-queuebench-").FullName;
            var path = options.Config;
            if (path is not null)
            {
                path = Path.Combine(dataDir, "hermod.yaml");
                var text = await File.ReadAllTextAsync(options.Config!);
                await File.WriteAllTextAsync(path, text.Replace("{world}", $"{Interlocked.Increment(ref _opened)}", StringComparison.Ordinal));
            }
            var config = ConfigLoader.Load(path);
            config.Hermod.DataDir = dataDir;
            var services = new ServiceCollection();
            services.AddSingleton(config.Hermod);
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton<HermodMetrics>();
            services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
            config.Storage.AddStore(services, recover: true);
            return new World(services.BuildServiceProvider(), dataDir);
        }

        /// <summary>Accepts <paramref name="deliveries"/> / 10 messages of 10 recipients, 32 at a time (group commits as under load).</summary>
        public async Task AcceptAsync(int deliveries)
        {
            var messages = deliveries / Recipients;
            var next = -1;
            var body = "Subject: queue bench\r\n\r\nbody\r\n"u8.ToArray();
            var source = new MessageSource("mx", IPAddress.Loopback, "bench.test", null, null);
            await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) < messages)
                {
                    var recipients = Enumerable.Range(0, Recipients).Select(r => new EnvelopeRecipient($"user{r}@example.test")).ToList();
                    var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "sender@bench.test", recipients, source);
                    await using var blob = Store.CreateBlobWriter();
                    blob.Write(body);
                    await Store.AcceptAsync(envelope, "", blob, CancellationToken.None);
                }
            }));
        }

        /// <summary>Claims what is due and records every delivery with <paramref name="status"/> until nothing is due; returns how many.</summary>
        public async Task<int> DrainAsync(AttemptStatus status)
        {
            var reply = status == AttemptStatus.Delivered
                ? new UpstreamReply("mx.example.test", new(250, new(2, 0, 0), "ok"))
                : new UpstreamReply("mx.example.test", new(451, new(4, 0, 0), "later"));
            var later = DateTimeOffset.UtcNow.AddDays(1);
            var total = 0;
            while (true)
            {
                var jobs = await Queue.ClaimAsync(ClaimJobs, Lease, CancellationToken.None);
                if (jobs.Count == 0)
                    return total;
                var now = DateTimeOffset.UtcNow;
                await Task.WhenAll(jobs.Select(job => Queue.RecordAsync(new AttemptRecord(job.Message.Envelope.Id, now, now,
                    [.. job.Recipients.Select(r => new RecipientOutcome(r.DeliveryId, status, reply, status == AttemptStatus.Deferred ? later : null))]),
                    CancellationToken.None)));
                total += jobs.Sum(j => j.Recipients.Count);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _services.DisposeAsync();
            Directory.Delete(_dataDir, recursive: true);
        }
    }
}
