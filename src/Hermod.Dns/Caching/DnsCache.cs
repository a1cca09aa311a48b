namespace Hermod.Dns.Caching;

/// <summary>
/// A bounded map from (name, type) to answer with an expiry time. Expired entries go when they are looked up; when
/// the cache is full the oldest entry goes. Thread-safe.
/// </summary>
internal sealed class DnsCache(int capacity)
{
    /// <summary>A cache key; <paramref name="Name"/> in lower case.</summary>
    public readonly record struct Key(string Name, DnsRecordType Type);

    private sealed record Entry(Key Key, DnsAnswer Answer, DateTimeOffset Expires);

    private readonly Dictionary<Key, LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _byAge = new(); // oldest first
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    public bool TryGet(Key key, DateTimeOffset now, out DnsAnswer answer)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                if (now < node.Value.Expires)
                {
                    answer = node.Value.Answer;
                    return true;
                }
                Remove(node);
            }
        }
        answer = null!;
        return false;
    }

    public void Set(Key key, DnsAnswer answer, TimeSpan ttl, DateTimeOffset now)
    {
        if (capacity <= 0 || ttl <= TimeSpan.Zero)
            return;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var existing))
                Remove(existing);
            while (_entries.Count >= capacity && _byAge.First is { } oldest)
                Remove(oldest);
            _entries[key] = _byAge.AddLast(new Entry(key, answer, now + ttl));
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _entries.Remove(node.Value.Key);
        _byAge.Remove(node);
    }
}
