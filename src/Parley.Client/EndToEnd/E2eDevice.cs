// One device's end-to-end state on the client: its identity and prekeys, the sessions with each
// peer device, and the identity key first seen for each peer device (trust on first use, as
// OpenSSH pins host keys). Sends encrypt once per device of the recipient and once per other
// device of our own account, each addressed to that device (PROTOCOL.md §11.1 toDevice), so the
// server carries only ciphertext. The cryptography is Parley.EndToEnd's sans-IO core; this class
// only decides which session a message belongs to and talks to the key directory through ChatClient.
//
// Devices come and go: each addressed send's result lists the recipient's devices with keys now
// (§11.1), so a device added after our first session is found on the next send, gets its own
// session and the same message, and is reported (E2eSent.NewDevices); a device no longer listed
// loses its session. A first message from an unknown device of a known user is reported too.
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

    /// <summary>Peer devices with sessions kept at most; beyond it the least recently used one is forgotten (its next message starts over).</summary>
    public const int MaxPeerDevices = 1000;

    /// <summary>Peer devices whose identity stays pinned at most (sessions or not); past it, those without a session are forgotten.</summary>
    public const int MaxRememberedPeers = 10 * MaxPeerDevices;

    /// <summary>Messages from a device with a changed identity kept unread until the user decides; beyond it the oldest are dropped.</summary>
    public const int MaxHeldMessages = 100;

    private readonly object _lock = new();
    private readonly TimeProvider _clock;
    private readonly IdentityKeyPair _identity;
    private SignedPrekeyPair _signedPrekey;
    private KemPrekeyPair _lastResortKem;
    private DateTimeOffset _signedPrekeysMadeAt;
    private readonly List<RetiredPrekeys> _retired = [];
    private readonly Dictionary<uint, OneTimePrekeyPair> _oneTime = [];
    private readonly Dictionary<uint, KemPrekeyPair> _oneTimeKem = [];
    private readonly Dictionary<(string User, string Device), PeerSessions> _sessions = [];
    private readonly Dictionary<(string User, string Device), IdentityPublicKey> _pinned = [];
    private readonly HashSet<(string User, string Device)> _trustChanged = [];
    private readonly List<ChatMessage> _held = [];
    // Peer devices whose sessions changed (or went) since the last TakeSessionChanges: a database saves only these.
    private readonly HashSet<(string User, string Device)> _dirtySessions = [];
    private readonly Dictionary<string, long> _lastFetch = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refetch = new(StringComparer.Ordinal);
    private uint _nextOneTimeId = 1;
    private uint _nextKemId = 2;
    private long _uses;

    /// <summary>A user with no session after a fetch (no keys yet, or only this device) is asked again at most this often.</summary>
    private static readonly TimeSpan s_refetchAfter = TimeSpan.FromMinutes(1);

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

    private E2eDevice(string user, IdentityKeyPair identity, SignedPrekeyPair signedPrekey, KemPrekeyPair lastResortKem,
        DateTimeOffset signedPrekeysMadeAt, TimeProvider clock)
    {
        User = user;
        _identity = identity;
        _signedPrekey = signedPrekey;
        _lastResortKem = lastResortKem;
        _signedPrekeysMadeAt = signedPrekeysMadeAt;
        _clock = clock;
    }

    public string User { get; }

    public IdentityPublicKey Identity => _identity.PublicKey;

    /// <summary>Bundles refused as malformed or badly signed since this device was loaded (each gets no session).</summary>
    public int InvalidBundles { get; private set; }

    /// <summary>The identity's private half, for tests that play an impostor with a device of their own.</summary>
    internal IdentityKeyPair IdentityPair() => _identity;

    /// <summary><see cref="MaxPeerDevices"/>, lowered by tests of the cap.</summary>
    internal int PeerDeviceLimit { get; set; } = MaxPeerDevices;

    /// <summary><see cref="MaxRememberedPeers"/>, lowered by tests of the bound.</summary>
    internal int RememberedPeerLimit { get; set; } = MaxRememberedPeers;

    /// <summary>Peer devices with a session (for tests of the cap).</summary>
    internal int PeerDeviceCount
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>A new device identity with its signed prekey, last-resort KEM prekey and the given number of one-time keys.</summary>
    public static E2eDevice Create(string user, int oneTimePrekeys = 20, int oneTimeKemPrekeys = 5, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        IdentityKeyPair identity = IdentityKeyPair.Generate();
        E2eDevice device = new(user, identity, SignedPrekeyPair.Generate(identity, 1), KemPrekeyPair.Generate(identity, 1, KemPrekeyKind.LastResort),
            clock.GetUtcNow(), clock);
        device.AddOneTimeKeys(oneTimePrekeys, oneTimeKemPrekeys);
        return device;
    }

    /// <summary>
    /// Encrypts <paramref name="text"/> to every device of <paramref name="to"/> and to our own other
    /// devices, and sends each copy to its device. Says how many devices of <paramref name="to"/> it
    /// went to (0 when none has published keys: nothing is sent in plaintext instead), whether any
    /// of them was online, and which devices it found new or gone.
    /// </summary>
    /// <exception cref="IdentityChangedException">A device of the recipient presents a new identity key; nothing was sent.</exception>
    /// <param name="messageId">The id to send it under (§13.10); a fresh random one when null. A caller that waits for
    /// receipts draws it first and remembers it before sending, since a receipt can come back before the send returns.</param>
    public async Task<E2eSent> SendTextAsync(ChatClient client, string to, string text, CancellationToken cancellationToken = default, E2eMessageId? messageId = null)
    {
        E2eMessageId id = messageId ?? E2eMessageId.New();
        return await SendPayloadAsync(client, to, E2ePayload.Encode(E2ePayload.Text, id, text), cancellationToken).ConfigureAwait(false) with { MessageId = id };
    }

    /// <summary>One copy of a broadcast, end to end: like a text, marked as a broadcast inside the encryption.</summary>
    public async Task<E2eSent> SendBroadcastCopyAsync(ChatClient client, string to, string text, CancellationToken cancellationToken = default)
    {
        E2eMessageId id = E2eMessageId.New();
        return await SendPayloadAsync(client, to, E2ePayload.Encode(E2ePayload.Broadcast, id, text), cancellationToken).ConfigureAwait(false) with { MessageId = id };
    }

    /// <summary>
    /// A receipt (§13.11) to every device of <paramref name="to"/>, the sender of the messages it
    /// names, and to our own other devices (so they can mark those messages read too).
    /// </summary>
    public async Task<E2eSent> SendReceiptAsync(ChatClient client, string to, E2eReceipt receipt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        return await SendPayloadAsync(client, to, receipt.Encode(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Any payload (§13.10) end to end to every device of <paramref name="to"/> and our own other devices.</summary>
    public Task<E2eSent> SendPayloadAsync(ChatClient client, string to, byte[] plaintext, CancellationToken cancellationToken = default) =>
        SendPlaintextAsync(client, to, plaintext, copyToOwnDevices: true, cancellationToken);

    /// <summary>
    /// Saves the sessions an encryption moved on; called once the copies are made and before any of
    /// them leaves (PROTOCOL.md §13.9), so a crash after a copy left never brings a ratchet back to a
    /// message key, and its AES-GCM nonce, already used.
    /// </summary>
    public Action? SaveBeforeSending { get; set; }

    /// <summary>
    /// Encrypts one payload to every device of <paramref name="to"/> (and, with <paramref name="copyToOwnDevices"/>,
    /// to our own other devices) and sends each copy; as <see cref="SendTextAsync"/> does for a text.
    /// </summary>
    internal async Task<E2eSent> SendPlaintextAsync(ChatClient client, string to, byte[] plaintext, bool copyToOwnDevices, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plaintext);
        string[] users = to == User || !copyToOwnDevices ? [to] : [to, User];
        MarkUsed(users, only: null);
        foreach (string user in users)
        {
            await EnsureSessionsAsync(client, user, null, cancellationToken).ConfigureAwait(false);
        }
        // All copies are made before any leaves: a changed identity anywhere sends nothing.
        List<(string User, string Device, byte[] Envelope)> copies = Encrypt(users, plaintext, client.DeviceId, only: null);
        SaveBeforeSending?.Invoke();
        List<PeerDevice> added = [];
        List<PeerDevice> removed = [];
        CopiesSent sent = await SendCopiesAsync(client, to, copies, removed, cancellationToken).ConfigureAwait(false);
        int recipientDevices = sent.ToRecipient;
        bool delivered = sent.Delivered;
        foreach ((string user, string[] devices) in sent.Listed)
        {
            string[] missing = ReconcileDevices(user, devices, client.DeviceId, removed);
            if (missing.Length == 0)
            {
                continue;
            }
            await EnsureSessionsAsync(client, user, missing, cancellationToken).ConfigureAwait(false);
            List<(string User, string Device, byte[] Envelope)> more = Encrypt([user], plaintext, client.DeviceId, only: missing);
            SaveBeforeSending?.Invoke();
            CopiesSent extra = await SendCopiesAsync(client, to, more, removed, cancellationToken).ConfigureAwait(false);
            delivered |= extra.Delivered;
            recipientDevices += extra.ToRecipient;
            added.AddRange(more.Select(c => new PeerDevice(c.User, c.Device)).Except(removed));
        }
        return new E2eSent(recipientDevices, delivered) { NewDevices = added, RemovedDevices = removed };
    }

    /// <summary>
    /// Encrypts one payload to one device of <paramref name="user"/> only (a sender key request or its
    /// answer, PROTOCOL.md §14.3), starting a session with it first when there is none.
    /// </summary>
    /// <exception cref="IdentityChangedException">A device of <paramref name="user"/> presents a new identity; nothing was sent.</exception>
    internal async Task<E2eSent> SendPlaintextToDeviceAsync(ChatClient client, string user, string device, byte[] plaintext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plaintext);
        MarkUsed([user], only: device);
        bool known;
        lock (_lock)
        {
            known = _sessions.ContainsKey((user, device));
        }
        if (!known)
        {
            await EnsureSessionsAsync(client, user, [device], cancellationToken).ConfigureAwait(false);
        }
        List<(string User, string Device, byte[] Envelope)> copies = Encrypt([user], plaintext, client.DeviceId, only: [device]);
        SaveBeforeSending?.Invoke();
        List<PeerDevice> removed = [];
        CopiesSent sent = await SendCopiesAsync(client, user, copies, removed, cancellationToken).ConfigureAwait(false);
        return new E2eSent(sent.ToRecipient, sent.Delivered)
        {
            NewDevices = known ? [] : [.. copies.Select(c => new PeerDevice(c.User, c.Device)).Except(removed)],
            RemovedDevices = removed,
        };
    }

    private readonly record struct CopiesSent(Dictionary<string, string[]> Listed, bool Delivered, int ToRecipient);

    /// <summary>
    /// Sends each copy; returns, per user, the devices with keys the server listed, whether a copy
    /// to <paramref name="to"/> was delivered online, and how many copies to it were stored. A device
    /// the server no longer knows (revoked) loses its session and is added to <paramref name="removed"/>;
    /// the other copies still go.
    /// </summary>
    private async Task<CopiesSent> SendCopiesAsync(ChatClient client, string to,
        List<(string User, string Device, byte[] Envelope)> copies, List<PeerDevice> removed, CancellationToken cancellationToken)
    {
        Dictionary<string, string[]> listed = new(StringComparer.Ordinal);
        bool delivered = false;
        int toRecipient = 0;
        foreach ((string user, string device, byte[] envelope) in copies)
        {
            SendResult result;
            try
            {
                result = await client.SendToDeviceAsync(user, device, ContentType, envelope, cancellationToken).ConfigureAwait(false);
            }
            catch (ChatException e) when (e.Code == ErrorCodes.UnknownDevice)
            {
                Forget(user, device);
                removed.Add(new PeerDevice(user, device));
                continue;
            }
            toRecipient += user == to ? 1 : 0;
            delivered |= user == to && result.Status == DeliveryStatus.Delivered;
            if (result.Devices is not null)
            {
                listed[user] = result.Devices;
            }
        }
        return new CopiesSent(listed, delivered, toRecipient);
    }

    private void Forget(string user, string device)
    {
        lock (_lock)
        {
            if (_sessions.Remove((user, device), out PeerSessions? gone))
            {
                gone.Dispose();
            }
            _pinned.Remove((user, device));
            _dirtySessions.Add((user, device));
        }
    }

    /// <summary>The envelope the current session with <paramref name="user"/>'s first device makes, not sent (tests that play the network).</summary>
    internal byte[] EncryptForTest(string user, byte[] plaintext) => Encrypt([user], plaintext, null, null)[0].Envelope;

    /// <summary>One envelope per device of <paramref name="users"/> we hold a session with (or only <paramref name="only"/>), never to ourselves.</summary>
    private List<(string User, string Device, byte[] Envelope)> Encrypt(string[] users, byte[] plaintext, string? ourDevice, string[]? only)
    {
        List<(string User, string Device, byte[] Envelope)> copies = [];
        lock (_lock)
        {
            foreach (string user in users)
            {
                if (_trustChanged.Any(k => k.User == user))
                {
                    throw new IdentityChangedException(user, _trustChanged.First(k => k.User == user).Device);
                }
            }
            foreach (((string user, string device), PeerSessions sessions) in _sessions)
            {
                if (!users.Contains(user) || (user == User && device == ourDevice) || (only is not null && !only.Contains(device)))
                {
                    continue;
                }
                copies.Add((user, device, sessions.Current.Encrypt(plaintext)));
                sessions.LastUsed = ++_uses;
                _dirtySessions.Add((user, device));
            }
        }
        return copies;
    }

    /// <summary>
    /// Compares the devices the server lists for <paramref name="user"/> with ours: sessions of
    /// devices no longer listed are deleted (added to <paramref name="removed"/>); returns listed
    /// devices we have no session with (and do not hold back for trust).
    /// </summary>
    private string[] ReconcileDevices(string user, string[] listed, string? ourDevice, List<PeerDevice> removed)
    {
        lock (_lock)
        {
            HashSet<string> now = new(listed, StringComparer.Ordinal);
            foreach ((string u, string device) in _sessions.Keys.Where(k => k.User == user && !now.Contains(k.Device)).ToArray())
            {
                Forget(u, device);
                removed.Add(new PeerDevice(u, device));
            }
            return [.. listed.Where(d => !(user == User && d == ourDevice) && !_sessions.ContainsKey((user, d)) && !_trustChanged.Contains((user, d)))
                .Take(MessengerLimits.MaxFetchDevices)];
        }
    }

    /// <summary>
    /// Starts a session with each device of <paramref name="user"/> we have none with yet: with
    /// <paramref name="devices"/> null, one fetch of all devices, only when needed; else only those.
    /// </summary>
    private async Task EnsureSessionsAsync(ChatClient client, string user, string[]? devices, CancellationToken cancellationToken)
    {
        if (devices is null)
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
        }
        BundleList bundles = await client.FetchBundlesAsync(user, devices, cancellationToken).ConfigureAwait(false);
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
                    // Another user's pinned identity offered as this one's: no session (fail closed).
                    if (PinnedToAnotherUser(bundles.User, bundle.Identity) is not null)
                    {
                        InvalidBundles++;
                        continue;
                    }
                    if (Pin(bundles.User, entry.DeviceId, bundle.Identity) == PinResult.Changed)
                    {
                        continue;
                    }
                    // Initiate verifies both prekey signatures and every public key before use.
                    AddSessions(bundles.User, entry.DeviceId, new PeerSessions(E2eSession.Initiate(_identity, bundle)));
                }
                catch (E2eProtocolException)
                {
                    // A malformed or forged bundle gets no session (fail closed); the other devices still do.
                    InvalidBundles++;
                }
            }
        }
    }

    /// <summary>
    /// The sessions a send is about to encrypt with become the most recently used before it starts
    /// any new one (with a new device of the recipient or of our own): otherwise the cap could forget
    /// the recipient's sessions to make room, and the send would go to no device of theirs.
    /// </summary>
    private void MarkUsed(string[] users, string? only)
    {
        lock (_lock)
        {
            foreach (((string user, string device), PeerSessions sessions) in _sessions)
            {
                if (users.Contains(user) && (only is null || device == only))
                {
                    sessions.LastUsed = ++_uses;
                    _dirtySessions.Add((user, device));
                }
            }
        }
    }

    /// <summary>Adds a peer device's sessions; past <see cref="MaxPeerDevices"/> the least recently used peer device is forgotten.</summary>
    private void AddSessions(string user, string device, PeerSessions sessions)
    {
        sessions.LastUsed = ++_uses;
        _sessions[(user, device)] = sessions;
        _dirtySessions.Add((user, device));
        while (_sessions.Count > PeerDeviceLimit)
        {
            (string User, string Device) oldest = _sessions.MinBy(s => s.Value.LastUsed).Key;
            _sessions.Remove(oldest, out PeerSessions? evicted);
            evicted?.Dispose();
            _dirtySessions.Add(oldest);
        }
    }

    private enum PinResult
    {
        Known,
        FirstSeen,
        Changed,
    }

    /// <summary>
    /// The device of another user than <paramref name="user"/> that <paramref name="identity"/> is
    /// pinned for, if any (PROTOCOL.md §13.10 "Trust"): a device's identity key is its own, so the
    /// same key under another user's name is the server relabelling one user's messages as another's.
    /// </summary>
    private (string User, string Device)? PinnedToAnotherUser(string user, IdentityPublicKey identity)
    {
        foreach (((string pinnedUser, string pinnedDevice), IdentityPublicKey pinned) in _pinned)
        {
            if (pinnedUser != user && pinned.Equals(identity))
            {
                return (pinnedUser, pinnedDevice);
            }
        }
        return null;
    }

    /// <summary>Pins the first identity seen for a device; a different one later is marked and held.</summary>
    private PinResult Pin(string user, string device, IdentityPublicKey identity)
    {
        if (_pinned.TryGetValue((user, device), out IdentityPublicKey? pinned))
        {
            if (pinned.Equals(identity))
            {
                return PinResult.Known;
            }
            _trustChanged.Add((user, device));
            return PinResult.Changed;
        }
        _pinned[(user, device)] = identity;
        ForgetRememberedPastBound((user, device));
        return PinResult.FirstSeen;
    }

    /// <summary>
    /// Past <see cref="MaxRememberedPeers"/> pinned devices, pins of devices this device holds no
    /// session with go (never <paramref name="keep"/>, just pinned, nor one whose new key waits for
    /// the user): every first message from a made-up device adds one, the device row holding them
    /// is written at every message, and the saved state refuses more than 100,000.
    /// </summary>
    private void ForgetRememberedPastBound((string User, string Device) keep)
    {
        int excess = _pinned.Count - RememberedPeerLimit;
        if (excess <= 0)
        {
            return;
        }
        foreach ((string User, string Device) key in _pinned.Keys.Where(k => k != keep && !_sessions.ContainsKey(k) && !_trustChanged.Contains(k)).Take(excess).ToArray())
        {
            _pinned.Remove(key);
        }
    }

    /// <summary>Opens an end-to-end message; a message that cannot be read says why, and changes no session.</summary>
    public E2eIncoming Open(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        string device = message.FromDevice ?? "";
        if (message.ContentType != ContentType || device.Length == 0)
        {
            return new E2eIncoming(message.From, device, null, E2eError.MalformedData, "not an end-to-end message") { Timestamp = message.Timestamp };
        }
        lock (_lock)
        {
            try
            {
                E2eError error = E2eError.UnexpectedMessage;
                bool known = _sessions.TryGetValue((message.From, device), out PeerSessions? sessions);
                if (known && sessions!.TryDecrypt(message.Body, out byte[] plaintext, out error))
                {
                    sessions.LastUsed = ++_uses;
                    _dirtySessions.Add((message.From, device));
                    return Text(message, device, plaintext);
                }
                Parley.EndToEnd.Pqxdh.PqxdhInitialHeader? header = InitialHeaderOf(message.Body);
                if (header is null)
                {
                    return Failed(message, device, error, known ? "the message did not decrypt" : "no session with this device");
                }
                // A prekey envelope of a session we already have is a repeat (a replay, or a copy
                // that arrived twice), never a reason to start that session again.
                if (known && sessions!.StartedBy(header))
                {
                    return Failed(message, device, error, "the message was already read, or is not from this session");
                }
                // Otherwise it starts a new session: a reinstall, a new device, or both sides starting at once.
                return Accept(message, device, header);
            }
            catch (E2eProtocolException e)
            {
                return Failed(message, device, e.Error, e.Reason);
            }
        }
    }

    private static E2eIncoming Failed(ChatMessage message, string device, E2eError error, string reason) =>
        new(message.From, device, null, error, reason) { Timestamp = message.Timestamp };

    private static Parley.EndToEnd.Pqxdh.PqxdhInitialHeader? InitialHeaderOf(byte[] envelope)
    {
        try
        {
            return E2eSession.ReadInitialHeader(envelope);
        }
        catch (E2eProtocolException)
        {
            return null;
        }
    }

    private E2eIncoming Accept(ChatMessage message, string device, Parley.EndToEnd.Pqxdh.PqxdhInitialHeader header)
    {
        if (PinnedToAnotherUser(message.From, header.InitiatorIdentity) is (string owner, string ownerDevice))
        {
            return Failed(message, device, E2eError.IdentityOfAnotherUser,
                $"this first message is under the identity key of {owner}'s device {ownerDevice}, but the server says it is from {message.From}: it was not read (the server may be relabelling messages)");
        }
        if (_trustChanged.Contains((message.From, device)) || (_pinned.TryGetValue((message.From, device), out IdentityPublicKey? pinned) && !pinned.Equals(header.InitiatorIdentity)))
        {
            // Checked before any prekey is used: the message stays readable once the user trusts the key.
            _trustChanged.Add((message.From, device));
            Hold(message);
            return Failed(message, device, E2eError.InvalidSignature,
                $"{message.From}'s device {device} presents a new identity key; the message is kept unread until you trust it") with { HeldUntilTrusted = true };
        }
        SignedPrekeyPair? signed = FindSignedPrekey(header.SignedPrekeyId);
        if (signed is null)
        {
            return Failed(message, device, E2eError.PrekeyMismatch, "the message names a signed prekey this device does not have (or no longer keeps)");
        }
        OneTimePrekeyPair? oneTime = null;
        if (header.OneTimePrekeyId is uint oneTimeId && !_oneTime.TryGetValue(oneTimeId, out oneTime))
        {
            return Failed(message, device, E2eError.PrekeyMismatch, "the message names a one-time prekey already used");
        }
        KemPrekeyPair? kem = FindKemPrekey(header.KemPrekeyId);
        if (kem is null)
        {
            return Failed(message, device, E2eError.PrekeyMismatch, "the message names a KEM prekey already used");
        }
        E2eSessionAcceptance accepted = E2eSession.Accept(_identity, signed, oneTime, kem, message.Body);
        bool otherDevicesKnown = _pinned.Keys.Any(k => k.User == message.From && k.Device != device);
        PinResult pin = Pin(message.From, device, accepted.Session.TheirIdentity);
        // The session authenticated: only now are the one-time keys it used deleted.
        if (accepted.ConsumedPrekeys.OneTimePrekeyId is uint usedOneTime && _oneTime.Remove(usedOneTime, out OneTimePrekeyPair? used))
        {
            used.Dispose();
        }
        if (accepted.ConsumedPrekeys.KemPrekeyId is uint usedKem && _oneTimeKem.Remove(usedKem, out KemPrekeyPair? usedPair))
        {
            usedPair.Dispose();
        }
        if (_sessions.TryGetValue((message.From, device), out PeerSessions? existing))
        {
            existing.Promote(accepted.Session);
            existing.LastUsed = ++_uses;
            _dirtySessions.Add((message.From, device));
        }
        else
        {
            AddSessions(message.From, device, new PeerSessions(accepted.Session));
        }
        return Text(message, device, accepted.Plaintext) with { FromNewDevice = pin == PinResult.FirstSeen && (otherDevicesKnown || message.From == User) };
    }

    private void Hold(ChatMessage message)
    {
        _held.Add(message);
        if (_held.Count > MaxHeldMessages)
        {
            _held.RemoveAt(0);
        }
    }

    private static E2eIncoming Text(ChatMessage message, string device, byte[] plaintext)
    {
        if (plaintext.Length > 0 && E2ePayload.IsGroupKind(plaintext[0]))
        {
            // Sender keys and group control are the group layer's to read, never shown.
            return new(message.From, device, null, null, null) { GroupPayload = plaintext, Timestamp = message.Timestamp };
        }
        if (E2ePayload.TrySplit(plaintext, out byte offerKind, out E2eMessageId offerId, out ReadOnlySpan<byte> offer) && offerKind == E2ePayload.FileOffer)
        {
            // The chat decodes and checks the offer (FileOffer.Decode); it is never shown as text.
            return new(message.From, device, "", null, null) { FileOffer = offer.ToArray(), Timestamp = message.Timestamp, MessageId = offerId };
        }
        if (E2ePayload.TryDecodeText(plaintext, out byte kind, out E2eMessageId id, out string text))
        {
            return new(message.From, device, text, null, null) { Broadcast = kind == E2ePayload.Broadcast, Timestamp = message.Timestamp, MessageId = id };
        }
        if (E2ePayload.TrySplit(plaintext, out kind, out id, out ReadOnlySpan<byte> body) && kind == E2ePayload.Receipt)
        {
            return E2eReceipt.TryDecodeBody(body, out E2eReceipt? receipt)
                ? new(message.From, device, null, null, null) { Receipt = receipt, Timestamp = message.Timestamp, MessageId = id }
                : Failed(message, device, E2eError.MalformedData, "the decrypted receipt is malformed");
        }
        return Failed(message, device, E2eError.MalformedData, "the decrypted message is not a kind this client knows");
    }

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

    /// <summary>The other users this device has pinned an identity for: its contacts, sorted.</summary>
    public IReadOnlyList<string> KnownUsers()
    {
        lock (_lock)
        {
            return [.. _pinned.Keys.Select(k => k.User).Where(u => u != User).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The devices of <paramref name="user"/> with a pinned identity, and whether each presents a changed one.</summary>
    public IReadOnlyList<(string DeviceId, bool IdentityChanged)> KnownDevicesOf(string user)
    {
        lock (_lock)
        {
            return [.. _pinned.Keys.Where(k => k.User == user).Select(k => k.Device)
                .Union(_trustChanged.Where(k => k.User == user).Select(k => k.Device))
                .Select(d => (d, _trustChanged.Contains((user, d)))).OrderBy(d => d.Item1, StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Accepts a changed identity: the next send fetches the device's new keys, and the messages
    /// held from it are opened now (returned in the order they arrived).
    /// </summary>
    public IReadOnlyList<E2eIncoming> TrustNewIdentity(string user, string deviceId)
    {
        lock (_lock)
        {
            _trustChanged.Remove((user, deviceId));
            _pinned.Remove((user, deviceId));
            _refetch.Add(user);
            if (_sessions.Remove((user, deviceId), out PeerSessions? old))
            {
                old.Dispose();
            }
            _dirtySessions.Add((user, deviceId));
            ChatMessage[] held = [.. _held.Where(m => m.From == user && m.FromDevice == deviceId)];
            _held.RemoveAll(m => m.From == user && m.FromDevice == deviceId);
            return [.. held.Select(Open)];
        }
    }

    /// <summary>Messages kept unread from devices with a changed identity (for tests and the trust prompt).</summary>
    public int HeldMessageCount
    {
        get
        {
            lock (_lock)
            {
                return _held.Count;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (PeerSessions sessions in _sessions.Values)
            {
                sessions.Dispose();
            }
            foreach (OneTimePrekeyPair key in _oneTime.Values)
            {
                key.Dispose();
            }
            foreach (KemPrekeyPair key in _oneTimeKem.Values)
            {
                key.Dispose();
            }
            foreach (RetiredPrekeys retired in _retired)
            {
                retired.Dispose();
            }
            _lastResortKem.Dispose();
            _signedPrekey.Dispose();
            _identity.Dispose();
        }
    }
}
