// One device's end-to-end state on the client: its identity and prekeys, a session per peer
// device, and the identity key first seen for each peer device (trust on first use, as OpenSSH
// pins host keys). Sends encrypt once per device of the recipient and once per other device of
// our own account, each addressed to that device (PROTOCOL.md §11.1 toDevice), so the server
// carries only ciphertext. The cryptography is Parley.EndToEnd's sans-IO core; this class only
// decides which session a message belongs to and talks to the key directory through ChatClient.
//
// Not yet here (issue 9 goes on): persistence of this state across restarts (sessions serialise
// already; the encrypted local store does not exist yet), replenishing one-time prekeys when the
// server reports them low, signed-prekey rotation, and telling about a contact's new device
// without a fresh fetch.
using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Prekeys;
using Parley.EndToEnd.SafetyNumbers;
using Parley.EndToEnd.Session;
using Parley.Messaging;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDevice : IDisposable
{
    /// <summary>The content type of an end-to-end envelope; the server treats it like any other.</summary>
    public const string ContentType = "application/vnd.parley.e2e";

    private readonly object _lock = new();
    private readonly IdentityKeyPair _identity;
    private readonly SignedPrekeyPair _signedPrekey;
    private readonly KemPrekeyPair _lastResortKem;
    private readonly Dictionary<uint, OneTimePrekeyPair> _oneTime = [];
    private readonly Dictionary<uint, KemPrekeyPair> _oneTimeKem = [];
    private readonly Dictionary<(string User, string Device), E2eSession> _sessions = [];
    private readonly Dictionary<(string User, string Device), IdentityPublicKey> _pinned = [];
    private readonly HashSet<(string User, string Device)> _trustChanged = [];
    private readonly Dictionary<string, long> _lastFetch = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refetch = new(StringComparer.Ordinal);
    private uint _nextOneTimeId = 1;

    /// <summary>A user with no session after a fetch (no keys yet, or only this device) is asked again at most this often.</summary>
    private static readonly TimeSpan s_refetchAfter = TimeSpan.FromMinutes(1);
    private uint _nextKemId = 2;

    /// <summary>Below this many one-time keys of a kind on the server, a login tops them up (<see cref="ReplenishAsync"/>).</summary>
    public const int OneTimeLowWater = 10;
    public const int OneTimeTarget = 20;
    public const int KemLowWater = 2;
    public const int KemTarget = 5;

    /// <summary>
    /// One-time private keys kept at most, of each kind: keys handed out to senders who never wrote
    /// (or to someone draining them) would otherwise pile up here; the oldest go first.
    /// </summary>
    public const int MaxLocalOneTimeKeys = 400;

    private E2eDevice(string user, IdentityKeyPair identity, SignedPrekeyPair signedPrekey, KemPrekeyPair lastResortKem)
    {
        User = user;
        _identity = identity;
        _signedPrekey = signedPrekey;
        _lastResortKem = lastResortKem;
    }

    public string User { get; }

    public IdentityPublicKey Identity => _identity.PublicKey;

    /// <summary>Bundles refused as malformed or badly signed since this device was loaded (each gets no session).</summary>
    public int InvalidBundles { get; private set; }

    /// <summary>The identity's private half, for tests that play an impostor with a device of their own.</summary>
    internal IdentityKeyPair IdentityPair() => _identity;

    /// <summary>A new device identity with its signed prekey, last-resort KEM prekey and the given number of one-time keys.</summary>
    public static E2eDevice Create(string user, int oneTimePrekeys = 20, int oneTimeKemPrekeys = 5)
    {
        IdentityKeyPair identity = IdentityKeyPair.Generate();
        E2eDevice device = new(user, identity, SignedPrekeyPair.Generate(identity, 1), KemPrekeyPair.Generate(identity, 1, KemPrekeyKind.LastResort));
        device.AddOneTimeKeys(oneTimePrekeys, oneTimeKemPrekeys);
        return device;
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
    /// <see cref="OneTimeTarget"/> / <see cref="KemTarget"/> when below the low-water marks.
    /// Returns how many keys were added. <paramref name="saveBeforePublishing"/> runs once the new
    /// private keys exist and before their public halves leave: a crash in between must not leave
    /// the server handing out keys this device no longer has.
    /// </summary>
    public async Task<int> ReplenishAsync(ChatClient client, Action saveBeforePublishing, CancellationToken cancellationToken = default)
    {
        KeysPublished left = await client.PublishKeysAsync(_identity.PublicKey.Encode(), null, null, null, null, cancellationToken).ConfigureAwait(false);
        int oneTime = left.OneTimePrekeys < OneTimeLowWater ? OneTimeTarget - left.OneTimePrekeys : 0;
        int kem = left.OneTimeKemPrekeys < KemLowWater ? KemTarget - left.OneTimeKemPrekeys : 0;
        if (oneTime == 0 && kem == 0)
        {
            return 0;
        }
        (byte[][] newOneTime, byte[][] newKem) = AddOneTimeKeys(oneTime, kem);
        saveBeforePublishing();
        await client.PublishKeysAsync(_identity.PublicKey.Encode(), null, null, newOneTime, newKem, cancellationToken).ConfigureAwait(false);
        return oneTime + kem;
    }

    /// <summary>Publishes this device's public keys to the server's key directory (all of them; the server keeps the rest).</summary>
    public Task<KeysPublished> PublishAsync(ChatClient client, CancellationToken cancellationToken = default)
    {
        byte[][] oneTime;
        byte[][] oneTimeKem;
        lock (_lock)
        {
            oneTime = [.. _oneTime.Values.Select(k => KeyDirectoryBlobs.OneTimePrekey(k.Public))];
            oneTimeKem = [.. _oneTimeKem.Values.Select(k => KeyDirectoryBlobs.KemPrekey(k.Public))];
        }
        return client.PublishKeysAsync(_identity.PublicKey.Encode(), KeyDirectoryBlobs.SignedPrekey(_signedPrekey.Public),
            KeyDirectoryBlobs.KemPrekey(_lastResortKem.Public), oneTime, oneTimeKem, cancellationToken);
    }

    /// <summary>
    /// Encrypts <paramref name="text"/> to every device of <paramref name="to"/> and to our own other
    /// devices, and sends each copy to its device. Says how many devices of <paramref name="to"/> it
    /// went to (0 when none has published keys: nothing is sent in plaintext instead) and whether
    /// any of them was online.
    /// </summary>
    /// <exception cref="IdentityChangedException">A device of the recipient presents a new identity key; nothing was sent.</exception>
    public async Task<E2eSent> SendTextAsync(ChatClient client, string to, string text, CancellationToken cancellationToken = default) =>
        await SendAsync(client, to, E2ePayload.Text, text, cancellationToken).ConfigureAwait(false);

    /// <summary>One copy of a broadcast, end to end: like a text, marked as a broadcast inside the encryption.</summary>
    public async Task<E2eSent> SendBroadcastCopyAsync(ChatClient client, string to, string text, CancellationToken cancellationToken = default) =>
        await SendAsync(client, to, E2ePayload.Broadcast, text, cancellationToken).ConfigureAwait(false);

    private async Task<E2eSent> SendAsync(ChatClient client, string to, byte kind, string text, CancellationToken cancellationToken)
    {
        byte[] plaintext = E2ePayload.Encode(kind, text);
        List<(string User, string Device, byte[] Envelope)> copies = [];
        int recipientDevices = 0;
        foreach (string user in to == User ? new[] { to } : [to, User])
        {
            await EnsureSessionsAsync(client, user, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                foreach (((string u, string device), E2eSession session) in _sessions)
                {
                    if (u != user || (u == User && device == client.DeviceId))
                    {
                        continue;
                    }
                    if (_trustChanged.Contains((u, device)))
                    {
                        throw new IdentityChangedException(u, device);
                    }
                    copies.Add((u, device, session.Encrypt(plaintext)));
                    if (u == to)
                    {
                        recipientDevices++;
                    }
                }
            }
        }
        bool delivered = false;
        foreach ((string user, string device, byte[] envelope) in copies)
        {
            SendResult result = await client.SendToDeviceAsync(user, device, ContentType, envelope, cancellationToken).ConfigureAwait(false);
            delivered |= user == to && result.Status == DeliveryStatus.Delivered;
        }
        return new E2eSent(recipientDevices, delivered);
    }

    /// <summary>Starts a session with each device of <paramref name="user"/> we have none with yet (one fetch, only when needed).</summary>
    private async Task EnsureSessionsAsync(ChatClient client, string user, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Each fetch uses up one-time keys of the user's devices: ask only when no session
            // exists, and not again on every send to someone who has no keys.
            bool hasSession = _sessions.Keys.Any(k => k.User == user);
            bool askedRecently = _lastFetch.TryGetValue(user, out long at) && System.Diagnostics.Stopwatch.GetElapsedTime(at) < s_refetchAfter;
            if (hasSession ? !_refetch.Contains(user) : askedRecently)
            {
                return;
            }
            _refetch.Remove(user);
            _lastFetch[user] = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        BundleList bundles = await client.FetchBundlesAsync(user, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            foreach (DeviceBundle entry in bundles.Devices)
            {
                // Our own device, or a device we already have a session with: keep what we have.
                if ((user == User && entry.DeviceId == client.DeviceId) || _sessions.ContainsKey((bundles.User, entry.DeviceId)))
                {
                    continue;
                }
                try
                {
                    PrekeyBundle bundle = KeyDirectoryBlobs.ToBundle(entry);
                    if (!Pin(bundles.User, entry.DeviceId, bundle.Identity))
                    {
                        continue;
                    }
                    // Initiate verifies both prekey signatures and every public key before use.
                    _sessions[(bundles.User, entry.DeviceId)] = E2eSession.Initiate(_identity, bundle);
                }
                catch (E2eProtocolException)
                {
                    // A malformed or forged bundle gets no session (fail closed); the other devices still do.
                    InvalidBundles++;
                }
            }
        }
    }

    /// <summary>True when <paramref name="identity"/> is the pinned key (or the first seen); a different one is marked and held.</summary>
    private bool Pin(string user, string device, IdentityPublicKey identity)
    {
        if (_pinned.TryGetValue((user, device), out IdentityPublicKey? pinned))
        {
            if (pinned.Equals(identity))
            {
                return true;
            }
            _trustChanged.Add((user, device));
            return false;
        }
        _pinned[(user, device)] = identity;
        return true;
    }

    /// <summary>Opens an end-to-end message; a message that cannot be read says why, and changes no session.</summary>
    public E2eIncoming Open(ChatMessage message)
    {
        string device = message.FromDevice ?? "";
        if (message.ContentType != ContentType || device.Length == 0)
        {
            return new E2eIncoming(message.From, device, null, E2eError.MalformedData, "not an end-to-end message");
        }
        lock (_lock)
        {
            try
            {
                E2eError error = E2eError.UnexpectedMessage;
                bool known = _sessions.TryGetValue((message.From, device), out E2eSession? session);
                if (known && session!.TryDecrypt(message.Body, out byte[] plaintext, out error))
                {
                    return Text(message, device, plaintext);
                }
                // A prekey envelope the session does not take starts a new session (a reinstall, or both sides started at once).
                if (!IsPrekeyEnvelope(message.Body))
                {
                    return new E2eIncoming(message.From, device, null, error, known ? "the message did not decrypt" : "no session with this device");
                }
                return Accept(message, device);
            }
            catch (E2eProtocolException e)
            {
                return new E2eIncoming(message.From, device, null, e.Error, e.Reason);
            }
        }
    }

    private static bool IsPrekeyEnvelope(byte[] envelope)
    {
        try
        {
            E2eSession.ReadInitialHeader(envelope);
            return true;
        }
        catch (E2eProtocolException)
        {
            return false;
        }
    }

    private E2eIncoming Accept(ChatMessage message, string device)
    {
        Parley.EndToEnd.Pqxdh.PqxdhInitialHeader header = E2eSession.ReadInitialHeader(message.Body);
        if (header.SignedPrekeyId != _signedPrekey.Id)
        {
            return new E2eIncoming(message.From, device, null, E2eError.PrekeyMismatch, "the message names a signed prekey this device does not have");
        }
        OneTimePrekeyPair? oneTime = null;
        if (header.OneTimePrekeyId is uint oneTimeId && !_oneTime.TryGetValue(oneTimeId, out oneTime))
        {
            return new E2eIncoming(message.From, device, null, E2eError.PrekeyMismatch, "the message names a one-time prekey already used");
        }
        KemPrekeyPair? kem = header.KemPrekeyId == _lastResortKem.Id ? _lastResortKem : _oneTimeKem.GetValueOrDefault(header.KemPrekeyId);
        if (kem is null)
        {
            return new E2eIncoming(message.From, device, null, E2eError.PrekeyMismatch, "the message names a KEM prekey already used");
        }
        E2eSessionAcceptance accepted = E2eSession.Accept(_identity, _signedPrekey, oneTime, kem, message.Body);
        if (!Pin(message.From, device, accepted.Session.TheirIdentity))
        {
            accepted.Session.Dispose();
            return new E2eIncoming(message.From, device, null, E2eError.InvalidSignature,
                $"{message.From}'s device {device} presents a new identity key; trust it before reading its messages");
        }
        // The session authenticated: only now are the one-time keys it used deleted.
        if (accepted.ConsumedPrekeys.OneTimePrekeyId is uint usedOneTime && _oneTime.Remove(usedOneTime, out OneTimePrekeyPair? used))
        {
            used.Dispose();
        }
        if (accepted.ConsumedPrekeys.KemPrekeyId is uint usedKem && usedKem != _lastResortKem.Id && _oneTimeKem.Remove(usedKem, out KemPrekeyPair? usedPair))
        {
            usedPair.Dispose();
        }
        if (_sessions.Remove((message.From, device), out E2eSession? replaced))
        {
            replaced.Dispose();
        }
        _sessions[(message.From, device)] = accepted.Session;
        return Text(message, device, accepted.Plaintext);
    }

    private static E2eIncoming Text(ChatMessage message, string device, byte[] plaintext) =>
        E2ePayload.TryDecode(plaintext, out byte kind, out string text)
            ? new(message.From, device, text, null, null) { Broadcast = kind == E2ePayload.Broadcast }
            : new(message.From, device, null, E2eError.MalformedData, "the decrypted message is not a text this client knows");

    /// <summary>The 60-digit safety number with the identity pinned for <paramref name="user"/>'s device (both sides compute the same).</summary>
    public string SafetyNumberWith(string user, string deviceId)
    {
        lock (_lock)
        {
            IdentityPublicKey theirs = _pinned.TryGetValue((user, deviceId), out IdentityPublicKey? pinned)
                ? pinned
                : throw new InvalidOperationException($"no identity is known for {user}'s device {deviceId}");
            return SafetyNumber.ForIdentities(_identity.PublicKey, User, theirs, user);
        }
    }

    /// <summary>The devices of <paramref name="user"/> with a pinned identity, and whether each presents a changed one.</summary>
    public IReadOnlyList<(string DeviceId, bool IdentityChanged)> KnownDevicesOf(string user)
    {
        lock (_lock)
        {
            return [.. _pinned.Keys.Where(k => k.User == user).Select(k => (k.Device, _trustChanged.Contains(k))).OrderBy(d => d.Device, StringComparer.Ordinal)];
        }
    }

    /// <summary>Accepts a changed identity: the next send fetches the device's new keys.</summary>
    public void TrustNewIdentity(string user, string deviceId)
    {
        lock (_lock)
        {
            _trustChanged.Remove((user, deviceId));
            _pinned.Remove((user, deviceId));
            _refetch.Add(user);
            if (_sessions.Remove((user, deviceId), out E2eSession? old))
            {
                old.Dispose();
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (E2eSession session in _sessions.Values)
            {
                session.Dispose();
            }
            foreach (OneTimePrekeyPair key in _oneTime.Values)
            {
                key.Dispose();
            }
            foreach (KemPrekeyPair key in _oneTimeKem.Values)
            {
                key.Dispose();
            }
            _lastResortKem.Dispose();
            _signedPrekey.Dispose();
            _identity.Dispose();
        }
    }
}
