// A member's device that cannot read a group message for want of its key asks the sending device
// for it, and that device answers with its current key (PROTOCOL.md §14.3 "Asking for a key").
// This closes §14.5's gap for a member's new device: a sender records which members hold its key,
// not which of their devices, so without asking a device added later would read nothing from a
// member until that member's next rotation. The message that found the gap stays unread (the answer
// holds the chain from where it is now, and no earlier key can be computed from it); what follows reads.
using System.Security.Cryptography;
using Parley.EndToEnd.SenderKeys;
using Parley.Messaging;

namespace Parley.Client.EndToEnd.Groups;

public sealed partial class E2eGroups
{
    /// <summary>Requests to make or answer are waiting for <see cref="SendKeyRequestsAsync"/>.</summary>
    public bool HasKeyWork
    {
        get
        {
            lock (_lock)
            {
                return _requests.HasWork;
            }
        }
    }

    /// <summary>
    /// A group payload that came over a pairwise session: a member's sender key (kind 5) is stored,
    /// a request for ours (kind 6) is queued to be answered; true when either was taken.
    /// </summary>
    public bool TakeGroupPayload(E2eIncoming opened)
    {
        ArgumentNullException.ThrowIfNull(opened);
        return opened.GroupPayload is { } payload && GroupPayloads.TryDecodeKeyRequest(payload, out string groupId, out uint keyId)
            ? TakeKeyRequest(new SenderKeyWant(groupId, opened.From, opened.FromDevice, keyId))
            : TakeSenderKey(opened);
    }

    /// <summary>
    /// Queues an answer when the asker is a member and the key asked for is the one this device sends
    /// with now. Not while this device may have missed a change (its membership is not known): its next
    /// message makes a new key, which goes to every device of every member then.
    /// </summary>
    private bool TakeKeyRequest(SenderKeyWant want)
    {
        lock (_lock)
        {
            return want.Device.Length > 0 && CanHaveOurKey(want) && _requests.WantAnswer(want);
        }
    }

    /// <summary>The asker is a member as this device knows it, and asks for the key it sends with now (under the lock).</summary>
    private bool CanHaveOurKey(SenderKeyWant want) =>
        _byId.TryGetValue(want.GroupId, out GroupState? group) && group.MembersKnown && group.Members.Contains(want.User)
        && group.Own is { } own && !group.Stale && own.KeyId == want.KeyId;

    /// <summary>
    /// Sends the requests this device owes and the answers it owes, each to one device over the
    /// pairwise sessions; the number sent. <paramref name="persist"/> saves the state after each. A
    /// request or answer the server or a changed identity refuses is dropped; those a lost connection
    /// cut off wait for the next one (the exception is rethrown).
    /// </summary>
    public async Task<int> SendKeyRequestsAsync(ChatClient client, Action? persist = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        Queue<SenderKeyWant> asks, answers;
        Queue<string> memberLists;
        lock (_lock)
        {
            asks = new(_requests.TakeAsks());
            answers = new(_requests.TakeAnswers());
            memberLists = new(_requests.TakeMemberLists());
        }
        int sent = 0;
        try
        {
            while (asks.TryPeek(out SenderKeyWant ask))
            {
                byte[] payload = GroupPayloads.EncodeKeyRequest(Convert.FromHexString(ask.GroupId), ask.KeyId, E2eMessageId.New());
                if (await SendToDeviceAsync(client, ask, payload, persist, cancellationToken).ConfigureAwait(false))
                {
                    sent++;
                }
                else
                {
                    lock (_lock)
                    {
                        _requests.AskNotSent(ask);
                    }
                }
                asks.Dequeue();
            }
            while (answers.TryPeek(out SenderKeyWant answer))
            {
                if (AnswerFor(answer) is { } payload)
                {
                    try
                    {
                        if (await SendToDeviceAsync(client, answer, payload, persist, cancellationToken).ConfigureAwait(false))
                        {
                            sent++;
                        }
                        else
                        {
                            lock (_lock)
                            {
                                _requests.AnswerNotSent(answer);
                            }
                        }
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(payload);
                    }
                }
                answers.Dequeue();
            }
            // Last: a server slow to list members holds up no request or answer.
            while (memberLists.TryPeek(out string? groupId))
            {
                await VouchForMembersAsync(client, groupId, persist, cancellationToken).ConfigureAwait(false);
                memberLists.Dequeue();
            }
        }
        catch
        {
            lock (_lock)
            {
                _requests.PutBackMemberLists(memberLists);
                _requests.PutBackAsks(asks);
                _requests.PutBackAnswers(answers);
            }
            throw;
        }
        return sent;
    }

    /// <summary>
    /// The server's member list of a group held only in part, added to the names that vouch for keys. The group stays
    /// not known for judging senders (rows still waiting were decided under earlier memberships); the next send asks again.
    /// </summary>
    private async Task VouchForMembersAsync(ChatClient client, string groupId, Action? persist, CancellationToken cancellationToken)
    {
        string name;
        lock (_lock)
        {
            if (!_byId.TryGetValue(groupId, out GroupState? group) || group.MembersKnown)
            {
                return;
            }
            name = group.Name;
        }
        GroupInfo info;
        try
        {
            info = await client.GroupMembersAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatException)
        {
            return;
        }
        if (info.GroupId != groupId || info.Members is null || !info.Members.All(Usernames.IsCanonical) || !info.Members.Contains(_device.User))
        {
            return;
        }
        lock (_lock)
        {
            // Not a list older than what the notices have told since (a removal read meanwhile must not be undone).
            if (_byId.TryGetValue(groupId, out GroupState? group) && !group.MembersKnown && info.Version >= group.Version)
            {
                AddMembers(group, info.Members);
            }
        }
        persist?.Invoke();
    }

    /// <summary>Our current key's distribution for the asker, or null when it may not have it now (checked again: a change may have been read since).</summary>
    private byte[]? AnswerFor(SenderKeyWant want)
    {
        lock (_lock)
        {
            if (!CanHaveOurKey(want))
            {
                return null;
            }
            using SenderKeyDistribution distribution = _byId[want.GroupId].Own!.Distribution();
            return GroupPayloads.EncodeDistribution(distribution);
        }
    }

    /// <summary>True when sent; false when a changed identity or the server refused it (dropped). A lost connection throws.</summary>
    private async Task<bool> SendToDeviceAsync(ChatClient client, SenderKeyWant to, byte[] payload, Action? persist, CancellationToken cancellationToken)
    {
        try
        {
            E2eSent sent = await _device.SendPlaintextToDeviceAsync(client, to.User, to.Device, payload, cancellationToken).ConfigureAwait(false);
            return sent.RecipientDevices > 0;
        }
        catch (IdentityChangedException)
        {
            return false; // not until the user trusts it
        }
        catch (ChatException)
        {
            return false; // refused (rate_limited, inbox_full, a device gone …): a later message asks again
        }
        finally
        {
            persist?.Invoke();
        }
    }
}
