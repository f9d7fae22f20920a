// One device's groups, end to end (PROTOCOL.md §14): its own sender key per group, the sender keys
// other members' devices handed it, and what it knows of each group's membership. Sending makes
// one sender-key ciphertext and lets the server fan it out (§11.7 group_send); the sender key goes
// to each member device over the pairwise sessions first, only to members the server lists now.
// A membership change (a notice in the inbox, or a stale_group_version answer) marks this device's
// sender key stale: the next send makes a new one and hands it only to the current members, so a
// removed member cannot read what follows and a new one cannot read what came before.
using Parley.EndToEnd;
using Parley.EndToEnd.SenderKeys;
using Parley.Messaging;

namespace Parley.Client.EndToEnd.Groups;

public sealed partial class E2eGroups : IDisposable
{
    /// <summary>Sender keys kept per member device and group: the newest few, so messages sent just before a rotation still open.</summary>
    public const int KeysPerSenderDevice = 4;

    /// <summary>Received sender keys kept in all; past it the least recently stored go first (their messages then cannot be read).</summary>
    public const int MaxReceivedKeys = 4096;

    /// <summary>
    /// Received sender keys kept for groups this device does not know (yet); past it the oldest of
    /// those go first. Anyone can hand us keys for made-up groups: they must never push out the
    /// keys of the groups we are in.
    /// </summary>
    public const int MaxKeysForUnknownGroups = 64;

    /// <summary>
    /// Skipped message keys kept across all received sender keys (each key keeps at most
    /// <see cref="SenderKeyLimits.MaxSkippedMessageKeys"/>); past it the key holding most gives up its
    /// oldest. Bounds what members who jump their chains ahead can make this device hold and save.
    /// </summary>
    public const int MaxSkippedKeysInAll = 20_000;

    /// <summary>Times one send asks the server again after the membership moved under it.</summary>
    private const int SendAttempts = 3;

    private readonly object _lock = new();
    private readonly E2eDevice _device;
    private readonly Dictionary<string, GroupState> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<(string GroupId, string User, string Device), List<ReceivedSenderKey>> _received = [];
    private readonly Dictionary<(string GroupId, string User, string Device), long> _receivedAt = [];
    private long _stored;
    private readonly SenderKeyRequests _requests;

    private sealed class GroupState(string id, string name)
    {
        public string Id { get; } = id;
        public string Name { get; set; } = name;
        public long Version { get; set; }
        public HashSet<string> Members { get; } = new(StringComparer.Ordinal);

        /// <summary>False when this device may have missed a change (it was added, or a notice was skipped): ask the server before sending.</summary>
        public bool MembersKnown { get; set; }
        public OwnSenderKey? Own { get; set; }
        public bool Stale { get; set; } = true;
        public HashSet<string> HasOurKey { get; } = new(StringComparer.Ordinal);
    }

    /// <param name="time">The clock that paces sender key requests and answers (tests pass a fake one).</param>
    public E2eGroups(E2eDevice device, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        _requests = new SenderKeyRequests(time ?? TimeProvider.System);
    }

    /// <summary>The names of the groups this device is in, sorted (for completion).</summary>
    public IReadOnlyList<string> GroupNames()
    {
        lock (_lock)
        {
            return [.. _byId.Values.Select(g => g.Name).Order(StringComparer.Ordinal)];
        }
    }

    // ── membership requests: the server decides, this device follows ──

    public async Task<GroupInfo> CreateAsync(ChatClient client, string name, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Apply(await client.CreateGroupAsync(name, members, cancellationToken).ConfigureAwait(false));
    }

    public async Task<GroupInfo> AddAsync(ChatClient client, string name, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Apply(await client.AddGroupMembersAsync(name, members, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Joins a group this user was invited to; the members renew their sender keys when they read the notice.</summary>
    public async Task<GroupInfo> AcceptAsync(ChatClient client, string name, string? groupId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Apply(await client.AcceptGroupInvitationAsync(name, groupId, cancellationToken).ConfigureAwait(false));
    }

    public async Task<GroupInfo> RemoveAsync(ChatClient client, string name, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Apply(await client.RemoveGroupMembersAsync(name, members, cancellationToken).ConfigureAwait(false));
    }

    public async Task<GroupInfo> MembersAsync(ChatClient client, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Apply(await client.GroupMembersAsync(name, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Groups asked for at most at one login (the server's default bound of groups per user).</summary>
    public const int MaxGroupsLearnedAtLogin = 100;

    /// <summary>
    /// At login: the groups the server lists that this device does not know (joined before it existed,
    /// or on another device while a notice was lost) are asked for and kept, as the browser client does.
    /// Their membership is today's, so it does not judge the rows still waiting in the inbox (decided
    /// under earlier ones): senders are judged again once the next send has asked the server. Returns
    /// the names learned; a group the server will not describe now is left for 'group members'.
    /// </summary>
    public async Task<IReadOnlyList<string>> LearnAtLoginAsync(ChatClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        GroupListResult list = await client.GroupOverviewAsync(cancellationToken).ConfigureAwait(false);
        List<string> learned = [];
        foreach (GroupSummary? listed in (list.Groups ?? []).Take(MaxGroupsLearnedAtLogin))
        {
            // An answer no honest server gives (a missing or malformed name or id) is passed over, never trusted.
            if (listed?.Group is null || listed.GroupId is null || !Usernames.IsCanonical(listed.Group) || !IsGroupId(listed.GroupId))
            {
                continue;
            }
            lock (_lock)
            {
                if (_byId.ContainsKey(listed.GroupId))
                {
                    continue;
                }
            }
            GroupInfo info;
            try
            {
                info = await client.GroupMembersAsync(listed.Group, cancellationToken).ConfigureAwait(false);
            }
            catch (ChatException)
            {
                continue;
            }
            // Names and ids as the server makes them, and an answer for the group asked about with us in it.
            if (info.Group != listed.Group || info.GroupId != listed.GroupId || info.Members is null
                || !info.Members.All(Usernames.IsCanonical) || !info.Members.Contains(_device.User))
            {
                continue;
            }
            lock (_lock)
            {
                if (_byId.ContainsKey(info.GroupId))
                {
                    continue; // a notice taught it meanwhile, in order: that is the better word
                }
                Apply(info);
                _byId[info.GroupId].MembersKnown = false;
            }
            learned.Add(info.Group);
        }
        return learned;
    }

    /// <summary>32 lower-case hex digits, as the server makes a group id (PROTOCOL.md §11.7).</summary>
    private static bool IsGroupId(string id) =>
        id.Length == 2 * SenderKeyLimits.GroupIdSize && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    public async Task LeaveAsync(ChatClient client, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        await client.LeaveGroupAsync(name, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (_byId.Values.FirstOrDefault(g => g.Name == name) is { } group)
            {
                Drop(group);
            }
        }
    }

    /// <summary>Takes the server's word for a group's membership; a changed membership makes our sender key stale.</summary>
    private GroupInfo Apply(GroupInfo info)
    {
        lock (_lock)
        {
            if (StateFor(info.GroupId, info.Group) is not GroupState group)
            {
                return info;
            }
            if (info.Version >= group.Version)
            {
                bool changed = !group.MembersKnown || !group.Members.SetEquals(info.Members);
                foreach (string gone in group.Members.Except(info.Members, StringComparer.Ordinal).ToArray())
                {
                    ForgetKeysOf(group.Id, gone);
                }
                group.Members.Clear();
                AddMembers(group, info.Members);
                group.Version = info.Version;
                group.MembersKnown = true;
                group.Stale |= changed;
            }
            return info;
        }
    }

    /// <summary>
    /// The group's state, made if new; null when this device already holds <see cref="MaxGroups"/>
    /// (the most its saved state may hold: a server making up groups must not make the state one the
    /// device can no longer load).
    /// </summary>
    private GroupState? StateFor(string groupId, string name)
    {
        // A name given again to a new group (the old one emptied and was deleted) is another group.
        foreach (GroupState other in _byId.Values.Where(g => g.Name == name && g.Id != groupId).ToArray())
        {
            Drop(other);
        }
        if (!_byId.TryGetValue(groupId, out GroupState? group))
        {
            if (_byId.Count >= MaxGroups)
            {
                return null;
            }
            _byId[groupId] = group = new GroupState(groupId, name);
        }
        return group;
    }

    /// <summary>Groups a device holds at most (as its saved state may hold them).</summary>
    public const int MaxGroups = MaxSavedGroups;

    /// <summary>Members one group's state holds at most (as its saved state may hold them); names past it are not kept.</summary>
    public const int MaxMembersKept = 100_000;

    private static void AddMembers(GroupState group, IEnumerable<string> names)
    {
        foreach (string name in names)
        {
            if (group.Members.Count >= MaxMembersKept)
            {
                return;
            }
            group.Members.Add(name);
        }
    }

    private void Drop(GroupState group)
    {
        group.Own?.Dispose();
        _byId.Remove(group.Id);
        foreach ((string, string, string) key in _received.Keys.Where(k => k.GroupId == group.Id).ToArray())
        {
            RemoveReceived(key);
        }
    }

    private void ForgetKeysOf(string groupId, string user)
    {
        foreach ((string, string, string) key in _received.Keys.Where(k => k.GroupId == groupId && k.User == user).ToArray())
        {
            RemoveReceived(key);
        }
    }

    private void RemoveReceived((string GroupId, string User, string Device) key)
    {
        if (_received.Remove(key, out List<ReceivedSenderKey>? keys))
        {
            keys.ForEach(k => k.Dispose());
        }
        _receivedAt.Remove(key);
    }

    // ── sending ──

    /// <summary>
    /// Sends <paramref name="text"/> to the group: renews and hands out this device's sender key when
    /// the membership changed, then one ciphertext for the server to fan out. A membership that moves
    /// during the send is read again (at most a few times).
    /// </summary>
    /// <exception cref="ChatException">The server refused (unknown_group, not_a_member, rate_limited …).</exception>
    /// <param name="messageId">The id receipts will name (§14.4); a fresh random one when null. A caller that waits for
    /// receipts draws it first and remembers it, since a receipt can come back before the send returns.</param>
    /// <param name="persist">Saves this device's state; called once the message is encrypted and before it leaves, so a
    /// crash after the server stored it never brings the chain back to a message key already used.</param>
    public Task<GroupSent> SendTextAsync(ChatClient client, string name, string text, CancellationToken cancellationToken = default, E2eMessageId? messageId = null, Action? persist = null) =>
        SendPlaintextAsync(client, name, GroupPayloads.EncodeText(text, messageId ?? E2eMessageId.New()), persist, cancellationToken);

    /// <summary>Offers a file to the group (its encoded §15.2 offer; the upload names every member as a recipient), as one group message.</summary>
    public Task<GroupSent> SendFileOfferAsync(ChatClient client, string name, ReadOnlySpan<byte> offer, CancellationToken cancellationToken = default, Action? persist = null) =>
        SendPlaintextAsync(client, name, GroupPayloads.EncodeFileOffer(offer, E2eMessageId.New()), persist, cancellationToken);

    private async Task<GroupSent> SendPlaintextAsync(ChatClient client, string name, byte[] plaintext, Action? persist, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        for (int attempt = 1; ; attempt++)
        {
            GroupState group = await CurrentAsync(client, name, cancellationToken).ConfigureAwait(false);
            (OwnSenderKey key, string[] toTell, bool rotated, long version) = PrepareKey(group);
            List<string> unreachable = await DistributeAsync(client, group, key, toTell, cancellationToken).ConfigureAwait(false);
            byte[]? ciphertext = null;
            lock (_lock)
            {
                // The key must still be for the membership it was chosen for: a removal read while it was
                // being handed out makes it stale (the removed member holds it), so choose again.
                if (!group.Stale && group.Version == version && ReferenceEquals(group.Own, key))
                {
                    ciphertext = key.Encrypt(plaintext);
                }
            }
            if (ciphertext is null)
            {
                if (attempt >= SendAttempts)
                {
                    throw new ChatException(ErrorCodes.StaleGroupVersion, "the group's membership kept changing while sending; nothing was sent, try again");
                }
                continue;
            }
            persist?.Invoke();
            try
            {
                GroupSendResult result = await client.GroupSendAsync(name, version, ciphertext, cancellationToken).ConfigureAwait(false);
                return new GroupSent(result.Group, result.Recipients, rotated, unreachable);
            }
            catch (ChatException e) when (e.Code == ErrorCodes.StaleGroupVersion && attempt < SendAttempts)
            {
                lock (_lock)
                {
                    group.MembersKnown = false;
                }
            }
        }
    }

    private async Task<GroupState> CurrentAsync(ChatClient client, string name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_byId.Values.FirstOrDefault(g => g.Name == name) is { MembersKnown: true } known)
            {
                return known;
            }
        }
        GroupInfo info = Apply(await client.GroupMembersAsync(name, cancellationToken).ConfigureAwait(false));
        lock (_lock)
        {
            return _byId[info.GroupId];
        }
    }

    /// <summary>This device's sender key for the group, renewed when stale; and the members that do not hold it yet.</summary>
    private (OwnSenderKey Key, string[] ToTell, bool Rotated, long Version) PrepareKey(GroupState group)
    {
        lock (_lock)
        {
            bool rotated = false;
            if (group.Own is null || group.Stale)
            {
                group.Own?.Dispose();
                group.Own = OwnSenderKey.Generate(Convert.FromHexString(group.Id));
                group.HasOurKey.Clear();
                group.Stale = false;
                rotated = true;
            }
            return (group.Own, [.. group.Members.Where(m => !group.HasOurKey.Contains(m)).Order(StringComparer.Ordinal)], rotated, group.Version);
        }
    }

    /// <summary>Hands the sender key to every device of each member named (our own other devices too) over the pairwise sessions.</summary>
    private async Task<List<string>> DistributeAsync(ChatClient client, GroupState group, OwnSenderKey key, string[] members, CancellationToken cancellationToken)
    {
        List<string> unreachable = [];
        if (members.Length == 0)
        {
            return unreachable;
        }
        byte[] payload;
        lock (_lock)
        {
            using SenderKeyDistribution distribution = key.Distribution();
            payload = GroupPayloads.EncodeDistribution(distribution);
        }
        try
        {
            foreach (string member in members)
            {
                try
                {
                    E2eSent sent = await _device.SendPlaintextAsync(client, member, payload, copyToOwnDevices: false, cancellationToken).ConfigureAwait(false);
                    if (sent.RecipientDevices == 0 && member != _device.User)
                    {
                        // Not recorded as holding the key (PROTOCOL.md §14.5): the next send tries again, so a first device gets it then.
                        unreachable.Add(member);
                        continue;
                    }
                }
                catch (IdentityChangedException)
                {
                    // Not until the user trusts the new identity: that member cannot read this key's messages.
                    unreachable.Add(member);
                    continue;
                }
                lock (_lock)
                {
                    group.HasOurKey.Add(member);
                }
            }
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(payload);
        }
        return unreachable;
    }

    // ── receiving ──

    /// <summary>A sender key that came over a pairwise session (an opened kind-5 payload); true when stored.</summary>
    public bool TakeSenderKey(E2eIncoming opened)
    {
        ArgumentNullException.ThrowIfNull(opened);
        using SenderKeyDistribution? distribution = opened.GroupPayload is { } payload ? GroupPayloads.DecodeDistribution(payload) : null;
        if (distribution is null)
        {
            return false;
        }
        string groupId = Convert.ToHexStringLower(distribution.GroupId);
        lock (_lock)
        {
            // A group we know with a sender who is not a member (any more): not kept.
            if (_byId.TryGetValue(groupId, out GroupState? group) && group.MembersKnown && !group.Members.Contains(opened.From))
            {
                return false;
            }
            (string, string, string) slot = (groupId, opened.From, opened.FromDevice);
            if (!_received.TryGetValue(slot, out List<ReceivedSenderKey>? keys))
            {
                _received[slot] = keys = [];
            }
            if (keys.Any(k => k.KeyId == distribution.KeyId))
            {
                return false;
            }
            keys.Add(ReceivedSenderKey.From(distribution));
            while (keys.Count > KeysPerSenderDevice)
            {
                keys[0].Dispose();
                keys.RemoveAt(0);
            }
            _receivedAt[slot] = ++_stored;
            while (_received.Where(p => !_byId.ContainsKey(p.Key.GroupId)).Sum(p => p.Value.Count) > MaxKeysForUnknownGroups)
            {
                RemoveReceived(_receivedAt.Where(p => !_byId.ContainsKey(p.Key.GroupId)).MinBy(p => p.Value).Key);
            }
            while (_received.Values.Sum(k => k.Count) > MaxReceivedKeys)
            {
                RemoveReceived(EvictionVictim(slot));
            }
            if (_byId.TryGetValue(groupId, out GroupState? partly) && !partly.MembersKnown && !partly.Members.Contains(opened.From))
            {
                // A group held only in part (joined by a notice that named only us): the server's list would vouch for its members.
                _requests.WantMembers(groupId);
            }
            return true;
        }
    }

    /// <summary>A received key's sender is in the member list this device holds for its group (under the lock).</summary>
    private bool Vouched((string GroupId, string User, string Device) slot) =>
        _byId.TryGetValue(slot.GroupId, out GroupState? group) && group.Members.Contains(slot.User);

    /// <summary>
    /// The slot (up to <see cref="KeysPerSenderDevice"/> keys) to drop past <see cref="MaxReceivedKeys"/> (under the lock):
    /// first the oldest that no member list vouches for, so a flood from anyone who knows a group's id never pushes out a
    /// member's key; else the oldest of the sender holding most keys (ties: the one whose oldest slot is oldest), so one
    /// member's many devices push out their own once they hold most. The slot just stored is spared when its group is one
    /// we are in, so a key of a group held only in part is not dropped as it comes; a key for a group we do not know never is.
    /// </summary>
    private (string GroupId, string User, string Device) EvictionVictim((string GroupId, string User, string Device) justStored)
    {
        bool spare = _byId.ContainsKey(justStored.GroupId);
        List<KeyValuePair<(string GroupId, string User, string Device), long>> others = [.. _receivedAt.Where(p => !spare || p.Key != justStored)];
        List<KeyValuePair<(string GroupId, string User, string Device), long>> unvouched = [.. others.Where(p => !Vouched(p.Key))];
        if (unvouched.Count > 0)
        {
            return unvouched.MinBy(p => p.Value).Key;
        }
        string heaviest = others.GroupBy(p => p.Key.User, StringComparer.Ordinal)
            .Select(g => (User: g.Key, Keys: g.Sum(p => _received[p.Key].Count), Oldest: g.Min(p => p.Value)))
            .OrderByDescending(u => u.Keys).ThenBy(u => u.Oldest).First().User;
        return others.Where(p => p.Key.User == heaviest).MinBy(p => p.Value).Key;
    }

    /// <summary>A group row from the inbox: a membership notice or a group message (the caller checked the content type).</summary>
    public GroupEvent Receive(ChatMessage message, string? ourDevice)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.ContentType switch
        {
            GroupContentTypes.Changed => ReceiveChange(message),
            GroupContentTypes.Message when message.FromDevice == ourDevice && message.From == _device.User => GroupEvent.None(message),
            GroupContentTypes.Message => ReceiveMessage(message),
            _ => Failed(message, "", "not a group row"),
        };
    }

    private static GroupEvent Failed(ChatMessage message, string group, string reason) =>
        new(GroupEventKind.Failed, group, message.From, message.FromDevice ?? "", message.Timestamp) { Reason = reason };

    private GroupEvent ReceiveChange(ChatMessage message)
    {
        GroupChange change;
        try
        {
            change = MessengerCodec.DecodeGroupChange(message.Body);
        }
        catch (MessengerProtocolException e)
        {
            return Failed(message, "", "a group notice that is not valid: " + e.Message);
        }
        // Names as the server makes them (PROTOCOL.md §11.4): anything else is a forgery, and a name with spaces or quotes
        // could dress itself up as a command in the chat's hints.
        if (change.Actor != message.From || change.Subjects is null || change.GroupId is null || change.Group is null
            || change.GroupId.Length != 2 * SenderKeyLimits.GroupIdSize || !change.GroupId.All(Uri.IsHexDigit)
            || !Usernames.IsCanonical(change.Group) || !Usernames.IsCanonical(change.Actor) || !change.Subjects.All(Usernames.IsCanonical)
            || !(change.Admins ?? []).All(Usernames.IsCanonical))
        {
            return Failed(message, "", "a group notice that does not hold together");
        }
        if (change.Change == GroupChangeKinds.Invited)
        {
            // An invitation is no membership: nothing to keep until we accept (and it names no member to trust).
            return new GroupEvent(GroupEventKind.Changed, change.Group, message.From, message.FromDevice ?? "", message.Timestamp) { Change = change };
        }
        bool weLeft = false;
        lock (_lock)
        {
            if (StateFor(change.GroupId, change.Group) is not GroupState group)
            {
                return Failed(message, "", $"a notice of another group, and this device holds {MaxGroups} groups, the most it keeps: not kept");
            }
            if (change.Version > group.Version)
            {
                // A gap means a notice was missed (a full inbox skips it): ask the server before the next send.
                bool gap = group.Version != 0 && change.Version != group.Version + 1;
                group.Version = change.Version;
                switch (change.Change)
                {
                    case GroupChangeKinds.Created:
                        group.Members.Clear();
                        AddMembers(group, change.Subjects);
                        group.MembersKnown = true;
                        break;
                    case GroupChangeKinds.Added:
                        AddMembers(group, change.Subjects);
                        group.MembersKnown &= !change.Subjects.Contains(_device.User);
                        break;
                    case GroupChangeKinds.Removed or GroupChangeKinds.Left:
                        group.Members.ExceptWith(change.Subjects);
                        foreach (string gone in change.Subjects)
                        {
                            ForgetKeysOf(group.Id, gone);
                        }
                        weLeft = change.Subjects.Contains(_device.User);
                        break;
                    default:
                        // A kind from a later protocol: ask the server for the members before the next send.
                        group.MembersKnown = false;
                        break;
                }
                group.MembersKnown &= !gap;
                group.Stale = true;
                if (weLeft)
                {
                    Drop(group);
                }
            }
        }
        return new GroupEvent(GroupEventKind.Changed, change.Group, message.From, message.FromDevice ?? "", message.Timestamp) { Change = change, WeLeft = weLeft };
    }

    private GroupEvent ReceiveMessage(ChatMessage message)
    {
        string device = message.FromDevice ?? "";
        lock (_lock)
        {
            try
            {
                SenderKeyMessage parsed = SenderKeyMessage.Parse(message.Body);
                string groupId = Convert.ToHexStringLower(parsed.GroupId);
                if (!_byId.TryGetValue(groupId, out GroupState? group))
                {
                    return Failed(message, "", "a message for a group this device does not know: a device added after the group was made learns it with 'group list' and 'group members NAME'");
                }
                string name = group.Name;
                if (group.MembersKnown && !group.Members.Contains(message.From))
                {
                    // The server's row says who sent it; a sender outside the group cannot speak in it.
                    return Failed(message, name, "its sender is not a member of the group");
                }
                uint keyId = parsed.KeyId;
                if (!_received.TryGetValue((groupId, message.From, device), out List<ReceivedSenderKey>? keys)
                    || keys.FirstOrDefault(k => k.KeyId == keyId) is not { } key)
                {
                    // Asked of the sending device alone (§14.3): a device new to the group reads what that device sends next.
                    SenderKeyAsk ask = device.Length > 0 ? _requests.WantAsk(new SenderKeyWant(groupId, message.From, device, keyId)) : SenderKeyAsk.NotAsked;
                    return Failed(message, name, "no sender key from this device for it (sent before you joined, or the key has not reached this device)") with { KeyAsk = ask };
                }
                byte[] plaintext = key.Decrypt(message.Body);
                BoundSkippedKeys();
                if (GroupPayloads.TryDecodeFileOffer(plaintext, out E2eMessageId offerId, out byte[] offer))
                {
                    return new GroupEvent(GroupEventKind.Message, name, message.From, device, message.Timestamp) { FileOffer = offer, MessageId = offerId };
                }
                if (!GroupPayloads.TryDecodeText(plaintext, out E2eMessageId messageId, out string text))
                {
                    return Failed(message, name, "the decrypted group message is not a text this client knows");
                }
                return new GroupEvent(GroupEventKind.Message, name, message.From, device, message.Timestamp) { Text = text, MessageId = messageId };
            }
            catch (E2eProtocolException e)
            {
                return Failed(message, "", e.Reason);
            }
        }
    }

    /// <summary>Keeps the skipped keys of every received sender key within <see cref="MaxSkippedKeysInAll"/> (under the lock).</summary>
    private void BoundSkippedKeys()
    {
        int excess = _received.Values.Sum(keys => keys.Sum(k => k.SkippedCount)) - MaxSkippedKeysInAll;
        while (excess > 0)
        {
            ReceivedSenderKey largest = _received.Values.SelectMany(keys => keys).MaxBy(k => k.SkippedCount)!;
            int drop = Math.Min(excess, largest.SkippedCount);
            largest.DropOldestSkipped(drop);
            excess -= drop;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (GroupState group in _byId.Values)
            {
                group.Own?.Dispose();
            }
            foreach (List<ReceivedSenderKey> keys in _received.Values)
            {
                keys.ForEach(k => k.Dispose());
            }
            _byId.Clear();
            _received.Clear();
        }
    }
}
