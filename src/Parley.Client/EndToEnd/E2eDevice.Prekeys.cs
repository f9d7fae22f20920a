// The device's prekeys over time: one-time keys topped up when the server runs low, and the
// signed prekey with the last-resort KEM prekey rotated on a schedule. A rotated pair is kept
// for a while, because a first message made from the old bundle may still be on its way (or
// waiting in an offline inbox); after that its private keys are deleted, which is what makes
// rotation worth doing: a later theft of this device's state cannot open sessions started with them.
using Parley.EndToEnd.Prekeys;
using Parley.Messaging;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDevice
{
    /// <summary>How long a signed prekey (and the last-resort KEM prekey beside it) is handed out before a login replaces it.</summary>
    public static readonly TimeSpan SignedPrekeyRotation = TimeSpan.FromDays(7);

    /// <summary>How long a replaced signed prekey still accepts first messages (Signal keeps old ones for about as long).</summary>
    public static readonly TimeSpan RetiredPrekeyLifetime = TimeSpan.FromDays(30);

    /// <summary>Replaced signed prekeys kept at most, however often the clock says to rotate.</summary>
    public const int MaxRetiredPrekeys = 5;

    private sealed record RetiredPrekeys(SignedPrekeyPair Signed, KemPrekeyPair LastResort, DateTimeOffset RetiredAt) : IDisposable
    {
        public void Dispose()
        {
            Signed.Dispose();
            LastResort.Dispose();
        }
    }

    /// <summary>The id of the signed prekey handed out now (for tests of rotation).</summary>
    internal uint SignedPrekeyId
    {
        get
        {
            lock (_lock)
            {
                return _signedPrekey.Id;
            }
        }
    }

    /// <summary>Replaced signed prekeys still accepted (for tests of rotation).</summary>
    internal int RetiredPrekeyCount
    {
        get
        {
            lock (_lock)
            {
                return _retired.Count;
            }
        }
    }

    /// <summary>Makes new one-time keys with ids never used before; returns their public halves for publishing.</summary>
    private (byte[][] OneTime, byte[][] Kem) AddOneTimeKeys(int oneTime, int kem)
    {
        lock (_lock)
        {
            List<byte[]> newOneTime = [];
            List<byte[]> newKem = [];
            for (int i = 0; i < oneTime; i++)
            {
                OneTimePrekeyPair key = OneTimePrekeyPair.Generate(_nextOneTimeId++);
                _oneTime[key.Id] = key;
                newOneTime.Add(KeyDirectoryBlobs.OneTimePrekey(key.Public));
            }
            for (int i = 0; i < kem; i++)
            {
                KemPrekeyPair key = KemPrekeyPair.Generate(_identity, _nextKemId++, KemPrekeyKind.OneTime);
                _oneTimeKem[key.Id] = key;
                newKem.Add(KeyDirectoryBlobs.KemPrekey(key.Public));
            }
            DropOldest(_oneTime);
            DropOldest(_oneTimeKem);
            return ([.. newOneTime], [.. newKem]);
        }
    }

    private static void DropOldest<T>(Dictionary<uint, T> keys) where T : IDisposable
    {
        foreach (uint id in keys.Keys.Order().Take(Math.Max(0, keys.Count - MaxLocalOneTimeKeys)).ToArray())
        {
            keys.Remove(id, out T? key);
            key?.Dispose();
        }
    }

    /// <summary>One-time keys of each kind this device holds privately (for tests of the bounds).</summary>
    internal (int OneTime, int Kem) LocalOneTimeKeys
    {
        get
        {
            lock (_lock)
            {
                return (_oneTime.Count, _oneTimeKem.Count);
            }
        }
    }

    /// <summary>
    /// Asks the server how many one-time keys it has left for this device and tops them up to
    /// <see cref="OneTimeTarget"/> / <see cref="KemTarget"/> when below the low-water marks; replaces
    /// the signed prekey and the last-resort KEM prekey when they are older than
    /// <see cref="SignedPrekeyRotation"/>. Returns how many one-time keys were added.
    /// <paramref name="saveBeforePublishing"/> runs once the new private keys exist and before their
    /// public halves leave: a crash in between must not leave the server handing out keys this
    /// device no longer has.
    /// </summary>
    public async Task<int> ReplenishAsync(ChatClient client, Action saveBeforePublishing, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(saveBeforePublishing);
        KeysPublished left = await client.PublishKeysAsync(_identity.PublicKey.Encode(), null, null, null, null, cancellationToken).ConfigureAwait(false);
        int oneTime = left.OneTimePrekeys < OneTimeLowWater ? OneTimeTarget - left.OneTimePrekeys : 0;
        int kem = left.OneTimeKemPrekeys < KemLowWater ? KemTarget - left.OneTimeKemPrekeys : 0;
        (byte[] Signed, byte[] LastResort)? rotated = RotateSignedPrekeysIfDue();
        if (oneTime == 0 && kem == 0 && rotated is null)
        {
            return 0;
        }
        (byte[][] newOneTime, byte[][] newKem) = AddOneTimeKeys(oneTime, kem);
        saveBeforePublishing();
        await client.PublishKeysAsync(_identity.PublicKey.Encode(), rotated?.Signed, rotated?.LastResort, newOneTime, newKem, cancellationToken).ConfigureAwait(false);
        return oneTime + kem;
    }

    /// <summary>New signed and last-resort prekeys when the current ones are due (their public blobs), else null; drops expired retired ones.</summary>
    private (byte[] Signed, byte[] LastResort)? RotateSignedPrekeysIfDue()
    {
        lock (_lock)
        {
            DateTimeOffset now = _clock.GetUtcNow();
            foreach (RetiredPrekeys expired in _retired.Where(r => now - r.RetiredAt >= RetiredPrekeyLifetime).ToArray())
            {
                _retired.Remove(expired);
                expired.Dispose();
            }
            if (now - _signedPrekeysMadeAt < SignedPrekeyRotation)
            {
                return null;
            }
            _retired.Insert(0, new RetiredPrekeys(_signedPrekey, _lastResortKem, now));
            while (_retired.Count > MaxRetiredPrekeys)
            {
                _retired[^1].Dispose();
                _retired.RemoveAt(_retired.Count - 1);
            }
            _signedPrekey = SignedPrekeyPair.Generate(_identity, _signedPrekey.Id + 1);
            _lastResortKem = KemPrekeyPair.Generate(_identity, _nextKemId++, KemPrekeyKind.LastResort);
            _signedPrekeysMadeAt = now;
            return (KeyDirectoryBlobs.SignedPrekey(_signedPrekey.Public), KeyDirectoryBlobs.KemPrekey(_lastResortKem.Public));
        }
    }

    /// <summary>The signed prekey a first message names: the current one or a retired one still kept.</summary>
    private SignedPrekeyPair? FindSignedPrekey(uint id) =>
        _signedPrekey.Id == id ? _signedPrekey : _retired.FirstOrDefault(r => r.Signed.Id == id)?.Signed;

    /// <summary>The KEM prekey a first message names: a one-time one, the current last-resort one or a retired one.</summary>
    private KemPrekeyPair? FindKemPrekey(uint id) =>
        _lastResortKem.Id == id ? _lastResortKem
            : _oneTimeKem.GetValueOrDefault(id) ?? _retired.FirstOrDefault(r => r.LastResort.Id == id)?.LastResort;

    /// <summary>Publishes this device's public keys to the server's key directory (all of them; the server keeps the rest).</summary>
    public Task<KeysPublished> PublishAsync(ChatClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        byte[][] oneTime;
        byte[][] oneTimeKem;
        byte[] signed;
        byte[] lastResort;
        lock (_lock)
        {
            oneTime = [.. _oneTime.Values.Select(k => KeyDirectoryBlobs.OneTimePrekey(k.Public))];
            oneTimeKem = [.. _oneTimeKem.Values.Select(k => KeyDirectoryBlobs.KemPrekey(k.Public))];
            signed = KeyDirectoryBlobs.SignedPrekey(_signedPrekey.Public);
            lastResort = KeyDirectoryBlobs.KemPrekey(_lastResortKem.Public);
        }
        return client.PublishKeysAsync(_identity.PublicKey.Encode(), signed, lastResort, oneTime, oneTimeKem, cancellationToken);
    }
}
