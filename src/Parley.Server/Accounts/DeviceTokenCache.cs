// Device-token lookups kept in memory, so a reconnect storm does not cost a store query per login
// (BENCHMARKS.md §2 (b)). Only tokens that validated are kept (an unknown token always goes to the
// store), and the cache is bounded in entries and in bytes (ServerOptions.DeviceTokenCacheEntries /
// DeviceTokenCacheBytes): the oldest entries go first.
// Correctness rests on invalidation: whatever deletes tokens of a user (revoke, expiry, the eviction
// of the least recently used when a new token is issued) calls Invalidate(user) after the store
// has deleted them. A lookup that read the store before that deletion could otherwise put the
// deleted token back; every insert therefore carries the invalidation epoch seen before the read,
// and an insert from an older epoch is dropped. Used only with the node's own store (SQLite): on
// a shared store another node's revocation would not reach this cache in time (docs/decisions/0013).
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

internal sealed class DeviceTokenCache
{
    /// <summary>What one entry is reckoned to cost beyond its two strings: key, entry, record, dictionary and queue slots.</summary>
    internal const int EntryOverheadBytes = 256;

    private readonly object _lock = new();
    private readonly Dictionary<TokenKey, StoredDeviceToken> _entries = [];
    private readonly Dictionary<string, List<TokenKey>> _byUser = new(StringComparer.Ordinal);
    private readonly Queue<TokenKey> _age = new();
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private long _bytes;
    private long _epoch;

    public DeviceTokenCache(int maxEntries, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _maxEntries = maxEntries;
        _maxBytes = maxBytes;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Take this before reading the store; hand it to <see cref="Put"/> with what was read.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    public StoredDeviceToken? TryGet(ReadOnlySpan<byte> tokenHash)
    {
        TokenKey key = TokenKey.From(tokenHash);
        lock (_lock)
        {
            return _entries.GetValueOrDefault(key);
        }
    }

    /// <summary>Keeps (or refreshes) a validated token, unless an invalidation happened since <paramref name="epoch"/>.</summary>
    public void Put(ReadOnlySpan<byte> tokenHash, StoredDeviceToken device, long epoch)
    {
        TokenKey key = TokenKey.From(tokenHash);
        long size = SizeOf(device);
        if (size > _maxBytes)
        {
            return;
        }
        lock (_lock)
        {
            if (epoch != _epoch)
            {
                return;
            }
            if (_entries.TryGetValue(key, out StoredDeviceToken? old))
            {
                // A token belongs to one user for ever: only its last use changes.
                _entries[key] = device;
                Interlocked.Add(ref _bytes, size - SizeOf(old));
                return;
            }
            while (_entries.Count >= _maxEntries || _bytes + size > _maxBytes)
            {
                EvictOldest();
            }
            _entries.Add(key, device);
            Interlocked.Add(ref _bytes, size);
            _age.Enqueue(key);
            if (!_byUser.TryGetValue(device.Username, out List<TokenKey>? keys))
            {
                _byUser[device.Username] = keys = [];
            }
            keys.Add(key);
            if (_age.Count / 2 > _entries.Count + 16)
            {
                // Keys of invalidated entries linger in the queue until dequeued; rebuild before it grows.
                _age.Clear();
                foreach (TokenKey live in _entries.Keys)
                {
                    _age.Enqueue(live);
                }
            }
        }
    }

    /// <summary>Forgets every cached token of <paramref name="user"/>. Call after the store has deleted any of them.</summary>
    public void Invalidate(string user)
    {
        lock (_lock)
        {
            _epoch++;
            if (_byUser.Remove(user, out List<TokenKey>? keys))
            {
                foreach (TokenKey key in keys)
                {
                    Remove(key);
                }
            }
        }
    }

    private void EvictOldest()
    {
        while (_age.TryDequeue(out TokenKey key))
        {
            if (_entries.TryGetValue(key, out StoredDeviceToken? device))
            {
                Remove(key);
                if (_byUser.TryGetValue(device.Username, out List<TokenKey>? keys))
                {
                    keys.Remove(key);
                    if (keys.Count == 0)
                    {
                        _byUser.Remove(device.Username);
                    }
                }
                return;
            }
        }
    }

    private void Remove(TokenKey key)
    {
        if (_entries.Remove(key, out StoredDeviceToken? device))
        {
            Interlocked.Add(ref _bytes, -SizeOf(device));
        }
    }

    private static long SizeOf(StoredDeviceToken device) => EntryOverheadBytes + 2L * (device.Username.Length + device.DeviceId.Length);

    /// <summary>A token's SHA-256 as a value (the cache never holds the token itself).</summary>
    private readonly record struct TokenKey(ulong A, ulong B, ulong C, ulong D)
    {
        // Written out: the synthesized hash multiplies, which overflows under this repository's checked arithmetic.
        public override int GetHashCode() => HashCode.Combine(A, B, C, D);

        public bool Equals(TokenKey other) => A == other.A && B == other.B && C == other.C && D == other.D;

        public static TokenKey From(ReadOnlySpan<byte> hash)
        {
            if (hash.Length != 32)
            {
                throw new ArgumentException("A token hash is 32 bytes.", nameof(hash));
            }
            return new TokenKey(
                BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]),
                BitConverter.ToUInt64(hash[16..24]), BitConverter.ToUInt64(hash[24..]));
        }
    }
}
