// parley chat's end-to-end layer: loads (or makes and publishes) this device's keys, opens what
// arrives, encrypts what is sent, and answers `verify` and `trust`. The state is saved after
// every change and before the message that changed it is acknowledged (the handler returns
// first), so a crash never leaves a ratchet behind a message the server already dropped.
// Receipts (PROTOCOL.md §13.11) are queued as messages are shown and sent by a loop of their
// own, never from the message handler (which runs on the reader loop and must not wait on it);
// sender key requests and their answers (§14.3) go from the same loop.
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.EndToEnd;
using Parley.EndToEnd.SafetyNumbers;
using Parley.Messaging;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

internal sealed class ChatEndToEnd : IDisposable
{
    private readonly E2eDevice _device;
    private readonly E2eDeviceDatabase _database;
    private readonly object _saveLock = new();
    private readonly Dictionary<string, List<string>> _heldOutgoing = new(StringComparer.Ordinal);
    private readonly ReceiptExchange _receipts;
    private readonly System.Threading.Channels.Channel<bool> _receiptsWaiting = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim _receiptSend = new(1, 1);

    /// <summary>Texts to a user with a changed identity kept (in memory, for this run) until 'trust'; beyond it they are refused.</summary>
    internal const int MaxHeldPerUser = 20;

    private ChatEndToEnd(E2eDevice device, E2eDeviceDatabase database, bool created)
    {
        _device = device;
        _database = database;
        Created = created;
        _receipts = new ReceiptExchange(device);
        device.SaveBeforeSending = SaveSessions;
        byte[]? saved = created ? null : database.LoadGroups();
        try
        {
            _groups = saved is null ? new E2eGroups(device) : E2eGroups.Import(device, saved);
        }
        finally
        {
            if (saved is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(saved);
            }
        }
        Groups = new ChatGroups(_groups, device.User, _receipts.Book, Save);
    }

    /// <summary>A message printed counts as read (an interactive terminal, not --json); otherwise only "delivered" is sent until 'read'.</summary>
    public bool ShownMeansRead { get; set; }

    /// <summary>Whether read receipts are sent and others' shown (PROTOCOL.md §13.11).</summary>
    public bool ReadReceipts
    {
        get => _receipts.Book.ReadReceipts;
        set => _receipts.Book.ReadReceipts = value;
    }

    private readonly E2eGroups _groups;

    /// <summary>This device's groups (PROTOCOL.md §14), saved with the rest of its end-to-end state.</summary>
    public ChatGroups Groups { get; }

    /// <summary>True when this run made the device's keys (they still have to be published).</summary>
    public bool Created { get; }

    private bool _published;

    /// <summary>
    /// The device's keys from its local database; a state file of an earlier version (one
    /// encrypted file) is moved into the database once and then deleted; new keys when there is neither.
    /// </summary>
    public static ChatEndToEnd Open(ParleyHome home, ChatClient client, string user)
    {
        string legacyPath = home.EndToEndStatePath(client.ServerIdentity.Fingerprint, user, client.DeviceId!);
        E2eDeviceDatabase database = new(Path.ChangeExtension(legacyPath, ".db"), user);
        try
        {
            if (database.HasDevice)
            {
                return new ChatEndToEnd(database.Load(), database, created: false);
            }
            E2eDeviceFile legacy = new(legacyPath);
            if (legacy.Exists)
            {
                ChatEndToEnd migrated = new(legacy.Load(user), database, created: false);
                migrated.Save();
                File.Delete(legacy.StatePath);
                File.Delete(legacy.KeyPath);
                return migrated;
            }
            ChatEndToEnd chat = new(E2eDevice.Create(user), database, created: true);
            chat.Save();
            return chat;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>This device's sealed file records (offers, upload journal), on their own connection to its database; the caller disposes them.</summary>
    public Parley.Client.Files.SealedFileRecords OpenFileRecords() => _database.OpenFileRecords();

    /// <summary>Publishes keys made in this run, or tops up the one-time keys of a known device; null on success, else what to tell the user.</summary>
    public async Task<string?> PublishOrReplenishAsync(ChatClient client, CancellationToken cancellationToken)
    {
        try
        {
            if (Created && !_published)
            {
                await _device.PublishAsync(client, cancellationToken);
                // After a reconnection only a top-up: publishing every local key again would let the
                // server hand out a one-time key a second time.
                _published = true;
            }
            else
            {
                await _device.ReplenishAsync(client, Save, cancellationToken);
            }
            return null;
        }
        catch (ChatException e) when (e.Code == ErrorCodes.IdentityKeyChanged)
        {
            return "[ERROR] This device's end-to-end keys are lost (the server knows another identity for it). " +
                "Log in with your password to make a new device: delete its token with 'parley devices revoke', then log in again.";
        }
    }

    /// <summary>Takes a file offer that arrived end to end (sender, encoded offer) and returns the line to print (ChatFiles).</summary>
    public Func<string, byte[], string>? FileOffered { get; set; }

    /// <summary>Sends a file's offer end to end to every device of <paramref name="to"/>; the status line, or null when it went to no device.</summary>
    /// <exception cref="IdentityChangedException">A device of <paramref name="to"/> presents a new identity; nothing was sent.</exception>
    public async Task<(bool Sent, string Line)> SendFileOfferAsync(ChatClient client, string to, Parley.EndToEnd.Files.FileOffer offer, CancellationToken cancellationToken)
    {
        try
        {
            E2eSent sent = await _device.SendFileOfferAsync(client, to, offer, cancellationToken);
            List<string> lines = [.. DeviceChanges(sent)];
            if (sent.RecipientDevices == 0)
            {
                lines.Add($"[ERROR] {to} has no device with end-to-end keys yet; the file was not offered");
                return (false, string.Join(Environment.NewLine, lines));
            }
            lines.Add($"[STATUS] File offered to {to} ({(sent.Delivered ? "online" : "offline: it waits for them")})");
            return (true, string.Join(Environment.NewLine, lines));
        }
        catch (IdentityChangedException)
        {
            return (false, IdentityWarning(to, $"The file was not offered: 'verify {to}', 'trust {to}', then 'sendfile' again (the upload is kept)."));
        }
        finally
        {
            Save();
        }
    }

    /// <summary>
    /// The line to print for an incoming message (null: nothing to print); end-to-end ones are
    /// opened, and what cannot be read is said, never shown. Group rows go to the group layer. A
    /// receipt that moved our messages forward comes out in <paramref name="receipt"/> (the line is
    /// then null, or a new device's notice).
    /// </summary>
    public string? Show(ChatMessage message, string? ourDevice, out ReceiptShown? receipt)
    {
        receipt = null;
        if (GroupContentTypes.IsReserved(message.ContentType))
        {
            string? groupLine = Groups.Show(message, ourDevice, out GroupEvent happened);
            Save();
            if (happened.KeyRequested)
            {
                _receiptsWaiting.Writer.TryWrite(true); // the request goes from the same loop as receipts
            }
            if (happened is { Kind: GroupEventKind.Message, FileOffer: { } groupOffer } && happened.From != _device.User && FileOffered is { } offered)
            {
                return $"[#{UntrustedText.Sanitize(happened.Group)}] {offered(happened.From, groupOffer)}";
            }
            if (happened is { Kind: GroupEventKind.Message, Text: not null, MessageId: E2eMessageId id } && happened.From != _device.User)
            {
                // A group message is receipted pairwise to its sender (PROTOCOL.md §14.4).
                _receipts.Book.Received(happened.From, id, ShownMeansRead, happened.Group);
                WakeReceipts();
            }
            return groupLine;
        }
        if (message.ContentType != E2eDevice.ContentType)
        {
            return ChatText.Message(message) + "  (not end-to-end encrypted)";
        }
        E2eIncoming opened = _device.Open(message);
        Save();
        if (opened.GroupPayload is not null)
        {
            Groups.TakeGroupPayload(opened);
            Save();
            if (_groups.HasKeyWork)
            {
                _receiptsWaiting.Writer.TryWrite(true); // a member's device asked for our key: answered from the receipts' loop
            }
            return opened.FromNewDevice ? NewDeviceNotice(message.From, opened.FromDevice) : null;
        }
        if (opened.Receipt is not null)
        {
            // The receipt's own line is the caller's to print (it has a JSON form); a first
            // payload from a new device is still announced, whatever its kind.
            receipt = _receipts.Received(opened, seen: false);
            return opened.FromNewDevice ? NewDeviceNotice(message.From, opened.FromDevice) : null;
        }
        if (opened.FileOffer is { } offer && FileOffered is { } handler && !opened.HeldUntilTrusted)
        {
            string offered = handler(message.From, offer);
            return opened.FromNewDevice ? NewDeviceNotice(message.From, opened.FromDevice) + Environment.NewLine + offered : offered;
        }
        string line = Describe(message, opened);
        Owe(opened);
        return line;
    }

    /// <summary>A text just shown (or stored unseen) is owed a receipt; the receipt loop is woken.</summary>
    private void Owe(E2eIncoming opened)
    {
        _receipts.Received(opened, ShownMeansRead);
        WakeReceipts();
    }

    private void WakeReceipts()
    {
        if (_receipts.Book.PendingCount > 0)
        {
            _receiptsWaiting.Writer.TryWrite(true);
        }
    }

    /// <summary>'read USER' in a script: the messages from that user shown so far are receipted as read; the status line.</summary>
    public string MarkRead(string user)
    {
        if (!Usernames.TryNormalize(user, out string name, out string error))
        {
            return $"[ERROR] {error}";
        }
        if (!ReadReceipts)
        {
            return "[STATUS] Read receipts are off ('receipts on' to send them)";
        }
        int count = _receipts.Book.MarkRead(name);
        _receiptsWaiting.Writer.TryWrite(true);
        return $"[STATUS] Marked {count} message{(count == 1 ? "" : "s")} from {name} as read";
    }

    /// <summary>Sends receipts as they are owed, until <paramref name="client"/>'s connection ends (what is left waits for the next one).</summary>
    public async Task SendReceiptsAsync(ChatClient client)
    {
        if (_groups.HasKeyWork || _receipts.Book.PendingCount > 0)
        {
            _receiptsWaiting.Writer.TryWrite(true); // what the last connection could not send goes on this one
        }
        while (!client.Completion.IsCompleted)
        {
            await Task.WhenAny(_receiptsWaiting.Reader.WaitToReadAsync().AsTask(), client.Completion);
            _receiptsWaiting.Reader.TryRead(out _);
            if (client.Completion.IsCompleted || !await FlushReceiptsAsync(client, CancellationToken.None))
            {
                return;
            }
        }
    }

    /// <summary>Sends the receipts waiting now (before quitting, say); false when the connection failed.</summary>
    public async Task<bool> FlushReceiptsAsync(ChatClient client, CancellationToken cancellationToken)
    {
        try
        {
            await _receiptSend.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        try
        {
            await _receipts.SendPendingAsync(client, Save, cancellationToken);
            await _groups.SendKeyRequestsAsync(client, Save, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is ChatConnectionException or Parley.Protocol.ParleyProtocolException or IOException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            _receiptSend.Release();
        }
    }

    private static string Describe(ChatMessage message, E2eIncoming opened)
    {
        string from = UntrustedText.Sanitize(message.From);
        if (opened.HeldUntilTrusted)
        {
            return IdentityWarning(message.From, $"A message from {from} is kept unread: 'verify {from}', then 'trust {from}' to read it.");
        }
        if (!opened.Opened)
        {
            return $"[ERROR] A message from {from} could not be decrypted ({UntrustedText.Sanitize(opened.Reason)}); it is not shown";
        }
        string line = ChatText.Message(message with
        {
            ContentType = MessengerLimits.TextContentType,
            Body = System.Text.Encoding.UTF8.GetBytes(opened.Text!),
            Broadcast = opened.Broadcast,
        });
        return opened.FromNewDevice ? NewDeviceNotice(message.From, opened.FromDevice) + Environment.NewLine + line : line;
    }

    private static string NewDeviceNotice(string user, string device) =>
        $"[STATUS] {UntrustedText.Sanitize(user)} has a new device ({UntrustedText.Sanitize(device, 64)}); compare safety numbers with 'verify {UntrustedText.Sanitize(user)}'";

    private static string IdentityWarning(string user, string whatNow)
    {
        string name = UntrustedText.Sanitize(user);
        return $"""
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
            @    WARNING: {name.ToUpperInvariant()}'S IDENTITY KEY HAS CHANGED!    @
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
            Someone may be reading your messages to {name}, or {name} reinstalled.
            Compare safety numbers with {name} out of band ('verify {name}'), then 'trust {name}'.
            {whatNow}
            """;
    }

    /// <summary>Room an envelope needs around the text: the PQXDH header of a first message, the ratchet header and the tag.</summary>
    internal const int EnvelopeOverhead = Parley.EndToEnd.Pqxdh.PqxdhInitialHeader.MaxEncodedSize + 256;

    /// <summary>Encrypts and sends; the status line to print.</summary>
    /// <exception cref="MessageTooLargeException">The text with its envelope would be over the server's body limit; nothing was sent.</exception>
    public async Task<string> SendAsync(ChatClient client, string to, string text, CancellationToken cancellationToken)
    {
        if (!Usernames.TryNormalize(to, out string user, out string error))
        {
            return $"[ERROR] {error}";
        }
        int length = System.Text.Encoding.UTF8.GetByteCount(text);
        int limit = client.MaxBodyLength - EnvelopeOverhead;
        if (length > limit)
        {
            throw new MessageTooLargeException(length, limit);
        }
        try
        {
            E2eSent sent = await _receipts.SendTextAsync(client, user, text, cancellationToken);
            List<string> lines = [.. DeviceChanges(sent)];
            lines.Add(sent.RecipientDevices == 0
                ? $"[ERROR] {user} has no device with end-to-end keys yet; nothing was sent (messages are never sent in the clear)"
                : ChatText.SendStatus(new SendResult(0, 0, user, sent.Delivered ? DeliveryStatus.Delivered : DeliveryStatus.Queued)));
            return string.Join(Environment.NewLine, lines);
        }
        catch (IdentityChangedException)
        {
            List<string> held = HeldFor(user);
            if (held.Count >= MaxHeldPerUser)
            {
                return IdentityWarning(user, $"Not sent: {MaxHeldPerUser} messages to {user} are already held.");
            }
            held.Add(text);
            return IdentityWarning(user, $"Your message is held ({held.Count} waiting) and is sent when you 'trust {user}'; quitting discards it.");
        }
        finally
        {
            Save();
        }
    }

    private List<string> HeldFor(string user)
    {
        lock (_heldOutgoing)
        {
            if (!_heldOutgoing.TryGetValue(user, out List<string>? held))
            {
                _heldOutgoing[user] = held = [];
            }
            return held;
        }
    }

    private static IEnumerable<string> DeviceChanges(E2eSent sent)
    {
        foreach (PeerDevice device in sent.NewDevices)
        {
            yield return NewDeviceNotice(device.User, device.DeviceId) + " (this message went to it too)";
        }
        foreach (PeerDevice device in sent.RemovedDevices)
        {
            yield return $"[STATUS] {UntrustedText.Sanitize(device.User)}'s device {UntrustedText.Sanitize(device.DeviceId, 64)} is gone (revoked or expired); it gets no more messages";
        }
    }

    /// <summary>
    /// A broadcast end to end: one encrypted copy per device of every other user online now (the
    /// fan-out is on this client, so the server never sees the text). Users without keys are skipped.
    /// </summary>
    public async Task<string> BroadcastAsync(ChatClient client, string text, CancellationToken cancellationToken)
    {
        int length = System.Text.Encoding.UTF8.GetByteCount(text);
        int limit = client.MaxBodyLength - EnvelopeOverhead;
        if (length > limit)
        {
            throw new MessageTooLargeException(length, limit);
        }
        int reached = 0;
        List<string> held = [];
        try
        {
            foreach (string user in await client.ListAsync(cancellationToken))
            {
                if (user == _device.User)
                {
                    continue;
                }
                try
                {
                    if ((await _device.SendBroadcastCopyAsync(client, user, text, cancellationToken)).RecipientDevices > 0)
                    {
                        reached++;
                    }
                }
                catch (IdentityChangedException)
                {
                    // A name the server listed: shown only through the sanitiser.
                    held.Add(UntrustedText.Sanitize(user, 64));
                }
            }
        }
        finally
        {
            Save();
        }
        string status = $"[STATUS] Broadcast sent to {reached} user{(reached == 1 ? "" : "s")}";
        return held.Count == 0 ? status : status + $"; not to {string.Join(", ", held)}, whose identity key changed (verify, then trust)";
    }

    /// <summary>The users this device has talked to end to end (its contacts, for join/leave notices and completion).</summary>
    public IReadOnlyList<string> KnownUsers() => _device.KnownUsers();

    /// <summary>The safety number with each known device of <paramref name="user"/>, in Signal's 60-digit form.</summary>
    public string Verify(string user)
    {
        if (!Usernames.TryNormalize(user, out string name, out string error))
        {
            return $"[ERROR] {error}";
        }
        IReadOnlyList<(string DeviceId, bool IdentityChanged)> devices = _device.KnownDevicesOf(name);
        if (devices.Count == 0)
        {
            return $"[ERROR] No end-to-end session with {name} yet: send a message first";
        }
        List<string> lines = [];
        foreach ((string deviceId, bool changed) in devices)
        {
            string number = SafetyNumber.Format(_device.SafetyNumberWith(name, deviceId));
            lines.Add($"[VERIFY] {name} device {UntrustedText.Sanitize(deviceId)}: {number}{(changed ? "  (IDENTITY CHANGED: not trusted)" : "")}");
        }
        lines.Add($"[VERIFY] Compare these numbers with {name} in person or on a call; they must be equal on both sides.");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>Accepts the changed identities of <paramref name="user"/>'s devices, shows the messages held from them, and sends the ones held for them.</summary>
    public async Task<string> TrustAsync(ChatClient client, string user, CancellationToken cancellationToken)
    {
        if (!Usernames.TryNormalize(user, out string name, out string error))
        {
            return $"[ERROR] {error}";
        }
        List<string> lines = [];
        int accepted = 0;
        foreach ((string deviceId, bool changed) in _device.KnownDevicesOf(name))
        {
            if (changed)
            {
                IReadOnlyList<E2eIncoming> opened = _device.TrustNewIdentity(name, deviceId);
                Save();
                accepted++;
                foreach (E2eIncoming message in opened)
                {
                    if (message.Receipt is not null)
                    {
                        if (_receipts.Received(message, seen: false) is { } shown)
                        {
                            lines.Add(ChatText.Receipt(shown));
                        }
                        continue;
                    }
                    if (message.FileOffer is { } offer && FileOffered is { } handler)
                    {
                        lines.Add(handler(message.From, offer));
                        continue;
                    }
                    lines.Add(Describe(new ChatMessage(0, message.From, _device.User, message.Timestamp, E2eDevice.ContentType, [], false, null, message.FromDevice), message));
                    Owe(message);
                }
            }
        }
        lines.Insert(0, accepted == 0 ? $"[STATUS] No changed identity for {name}" : $"[STATUS] Trusted the new identity of {accepted} device(s) of {name}");
        string[] held;
        lock (_heldOutgoing)
        {
            held = _heldOutgoing.Remove(name, out List<string>? waiting) ? [.. waiting] : [];
        }
        foreach (string text in held)
        {
            lines.Add(await SendAsync(client, name, text, cancellationToken));
        }
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The pairwise sessions alone (what an encryption moves on), before its copies leave.</summary>
    private void SaveSessions()
    {
        lock (_saveLock)
        {
            _database.Save(_device);
        }
    }

    private void Save()
    {
        lock (_saveLock)
        {
            _database.Save(_device);
            _database.SaveGroups(_groups.Export());
        }
    }

    public void Dispose()
    {
        _groups.Dispose();
        _device.Dispose();
        _database.Dispose();
        _receiptSend.Dispose();
    }
}
