using System.Net;
using System.Net.Sockets;

namespace Hermod.Policy.Checks;

/// <summary>What a <see cref="RateLimitCheck"/> counts per.</summary>
public enum RateLimitKey
{
    /// <summary>The client address (IPv6 by prefix, see <see cref="RateLimitOptions.Ipv6PrefixLength"/>).</summary>
    ClientIp,
    /// <summary>The envelope sender ("&lt;&gt;" for the null sender).</summary>
    Sender,
    /// <summary>The authenticated user; unauthenticated sessions are not limited.</summary>
    AuthUser,
}

/// <summary>Options of <see cref="RateLimitCheck"/>: <see cref="Rate"/> tokens per <see cref="Per"/>, at most <see cref="Burst"/> saved up.</summary>
public sealed record RateLimitOptions
{
    public RateLimitKey By { get; init; } = RateLimitKey.ClientIp;

    /// <summary>MAIL (one token per transaction) or RCPT (one token per recipient).</summary>
    public CheckStage Stage { get; init; } = CheckStage.Mail;

    public double Rate { get; init; } = 60;

    public TimeSpan Per { get; init; } = TimeSpan.FromMinutes(1);

    public int Burst { get; init; } = 60;

    /// <summary>Most buckets kept; the least recently used is dropped first, and idle (full) buckets are dropped anyway.</summary>
    public int MaxBuckets { get; init; } = 100_000;

    /// <summary>IPv6 clients share a bucket per prefix of this length (a host usually has a whole /64).</summary>
    public int Ipv6PrefixLength { get; init; } = 64;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Stage is not (CheckStage.Mail or CheckStage.Rcpt))
            problems.Add("stage: must be mail or rcpt");
        if (!Enum.IsDefined(By))
            problems.Add("by: must be client_ip, sender or auth_user");
        if (!(Rate > 0) || double.IsInfinity(Rate))
            problems.Add("rate: must be positive");
        if (Per <= TimeSpan.Zero)
            problems.Add("per: must be positive");
        if (Burst < 1)
            problems.Add("burst: must be at least 1");
        if (MaxBuckets < 1)
            problems.Add("max_buckets: must be at least 1");
        if (Ipv6PrefixLength is < 1 or > 128)
            problems.Add("ipv6_prefix_length: must be between 1 and 128");
        return problems;
    }
}

/// <summary>MAIL or RCPT: a token bucket per key; an empty bucket refuses with 451 4.7.0.</summary>
public sealed class RateLimitCheck : ICheck
{
    public static readonly CheckResult Exceeded = CheckResult.TempFail("Rate limit exceeded, try again later", 451, new(4, 7, 0));

    private sealed class Bucket(string key, double tokens, long stamp)
    {
        public string Key { get; } = key;
        public double Tokens { get; set; } = tokens;
        public long Stamp { get; set; } = stamp;
    }

    private readonly RateLimitOptions _options;
    private readonly TimeProvider _time;
    private readonly double _tokensPerTick;
    private readonly Dictionary<string, LinkedListNode<Bucket>> _buckets = new(StringComparer.OrdinalIgnoreCase);
    private readonly LinkedList<Bucket> _recent = new(); // most recently used first
    private readonly Lock _lock = new();

    public RateLimitCheck(RateLimitOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _options = options;
        _time = time ?? TimeProvider.System;
        _tokensPerTick = options.Rate / (options.Per.TotalSeconds * _time.TimestampFrequency);
    }

    public string Name => "rate_limit";

    /// <summary>Buckets held now.</summary>
    public int BucketCount
    {
        get
        {
            lock (_lock)
                return _buckets.Count;
        }
    }

    public bool RunsAt(CheckStage stage) => stage == _options.Stage;

    public Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = KeyOf(context);
        if (key is null)
            return Task.FromResult(CheckResult.Accept);
        return Task.FromResult(TryTake(key) ? CheckResult.Accept : Exceeded);
    }

    private string? KeyOf(CheckContext context) => _options.By switch
    {
        RateLimitKey.Sender => string.IsNullOrEmpty(context.Sender) ? "<>" : context.Sender,
        RateLimitKey.AuthUser => context.AuthUser,
        _ => AddressKey(context.ClientAddress),
    };

    private string AddressKey(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || _options.Ipv6PrefixLength == 128)
            return address.ToString();
        var bytes = address.GetAddressBytes();
        for (var bit = _options.Ipv6PrefixLength; bit < 128; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return $"{new IPAddress(bytes)}/{_options.Ipv6PrefixLength}";
    }

    /// <summary>Takes one token from <paramref name="key"/>'s bucket; false when it is empty.</summary>
    public bool TryTake(string key)
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            // buckets at the cold end that have refilled completely carry no state: drop them
            while (_recent.Last is { } last && Refill(last.Value, now) >= _options.Burst && last.Value.Key != key)
            {
                _buckets.Remove(last.Value.Key);
                _recent.RemoveLast();
            }
            if (_buckets.TryGetValue(key, out var node))
            {
                node.Value.Tokens = Refill(node.Value, now);
                node.Value.Stamp = now;
                _recent.Remove(node);
                _recent.AddFirst(node);
            }
            else
            {
                if (_buckets.Count >= _options.MaxBuckets && _recent.Last is { } oldest)
                {
                    _buckets.Remove(oldest.Value.Key);
                    _recent.RemoveLast();
                }
                node = _recent.AddFirst(new Bucket(key, _options.Burst, now));
                _buckets[key] = node;
            }
            if (node.Value.Tokens < 1)
                return false;
            node.Value.Tokens -= 1;
            return true;
        }
    }

    private double Refill(Bucket bucket, long now)
    {
        var elapsed = Math.Max(0, now - bucket.Stamp);
        return Math.Min(_options.Burst, bucket.Tokens + (elapsed * _tokensPerTick));
    }
}
