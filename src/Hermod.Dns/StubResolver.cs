using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Hermod.Dns.Caching;
using Hermod.Dns.Protocol;
using Hermod.Dns.Transport;

namespace Hermod.Dns;

/// <summary>
/// A caching stub resolver: asks recursive servers (UDP, TCP when the answer is truncated), tries the next server on
/// timeout, SERVFAIL, REFUSED or a malformed answer, for <see cref="DnsOptions.Attempts"/> rounds. Identical
/// concurrent queries share one lookup. Failures come back as a <see cref="DnsStatus"/>, never as exceptions;
/// only the caller's own cancellation throws.
/// </summary>
public sealed class StubResolver : IDnsResolver, IDisposable
{
    private readonly IPEndPoint[] _servers;
    private readonly TimeSpan _timeout;
    private readonly int _attempts;
    private readonly TimeSpan _maxCacheTtl;
    private readonly TimeSpan _negativeTtl;
    private readonly TimeProvider _time;
    private readonly DnsCache _cache;
    private readonly Dictionary<DnsCache.Key, Task<DnsAnswer>> _inFlight = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();

    public StubResolver(DnsOptions options) : this(options, TimeProvider.System)
    {
    }

    /// <summary>Builds a resolver; <paramref name="time"/> drives the cache and the timeouts.</summary>
    /// <exception cref="ArgumentException">The options are invalid (no servers, a timeout that is not positive, ...).</exception>
    public StubResolver(DnsOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        _servers = [.. options.Servers];
        _timeout = options.Timeout;
        _attempts = options.Attempts;
        _maxCacheTtl = options.MaxCacheTtl;
        _negativeTtl = options.NegativeTtl;
        _time = time;
        _cache = new DnsCache(options.MaxCacheEntries);
    }

    /// <summary>Answers held in the cache (expired ones included until they are looked up or pushed out).</summary>
    public int CacheCount => _cache.Count;

    public Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (!DnsQuestion.TryCreate(name, type, out var question))
            return Task.FromResult(DnsAnswer.Failure(DnsStatus.Malformed));
        var key = new DnsCache.Key(question.Name.ToLowerInvariant(), type);
        if (_cache.TryGet(key, _time.GetUtcNow(), out var cached))
            return Task.FromResult(cached);

        Task<DnsAnswer>? lookup;
        TaskCompletionSource<DnsAnswer>? started = null;
        lock (_lock)
        {
            if (!_inFlight.TryGetValue(key, out lookup))
            {
                started = new TaskCompletionSource<DnsAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
                lookup = started.Task;
                _inFlight[key] = lookup;
            }
        }
        if (started is not null)
            _ = RunLookupAsync(question, key, started);
        // A caller that gives up stops waiting; the shared lookup goes on for the others (bounded by the timeouts).
        return lookup.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stopping.Cancel();

    private async Task RunLookupAsync(DnsQuestion question, DnsCache.Key key, TaskCompletionSource<DnsAnswer> completion)
    {
        DnsAnswer? answer = null;
        Exception? error = null;
        try
        {
            var response = await LookupAsync(question, _stopping.Token);
            answer = response.ToAnswer();
            if (response.CacheTtl is { } ttl)
            {
                var cap = response.Status == DnsStatus.Ok ? _maxCacheTtl : _negativeTtl;
                _cache.Set(key, answer, ttl < cap ? ttl : cap, _time.GetUtcNow());
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        lock (_lock)
            _inFlight.Remove(key);
        if (answer is not null)
            completion.SetResult(answer);
        else if (error is OperationCanceledException)
            completion.SetCanceled();
        else
            completion.SetException(error!);
    }

    private async Task<DnsResponse> LookupAsync(DnsQuestion question, CancellationToken cancellationToken)
    {
        var failure = DnsStatus.Timeout;
        for (var round = 0; round < _attempts; round++)
        {
            foreach (var server in _servers)
            {
                var response = await ExchangeAsync(server, question, cancellationToken);
                if (response.IsAnswer)
                    return response;
                if (response.Status != DnsStatus.Timeout)
                    failure = response.Status; // a server's own word beats silence
            }
        }
        return DnsResponse.Failure(failure);
    }

    /// <summary>One try at one server: UDP, then TCP if the UDP answer was truncated, each within the timeout.</summary>
    private async Task<DnsResponse> ExchangeAsync(IPEndPoint server, DnsQuestion question, CancellationToken cancellationToken)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(0x10000);
        var query = DnsMessage.EncodeQuery(id, question);
        var response = await WithTimeoutAsync(token => DnsTransport.UdpAsync(server, id, query, question, token), cancellationToken);
        if (response.Truncated)
            response = await WithTimeoutAsync(token => DnsTransport.TcpAsync(server, id, query, question, token), cancellationToken);
        return response;
    }

    private async Task<DnsResponse> WithTimeoutAsync(Func<CancellationToken, Task<DnsResponse>> exchange, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await exchange(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DnsResponse.Failure(DnsStatus.Timeout);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            // Unreachable (ICMP), connection refused or closed early: no answer from this server.
            return DnsResponse.Failure(DnsStatus.Timeout);
        }
    }
}
