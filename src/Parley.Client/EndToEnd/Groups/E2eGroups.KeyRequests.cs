// A member's device that cannot read a group message for want of its key asks the sending device
// for it, and that device answers with its current key (PROTOCOL.md §14.3 "Asking for a key").
// This closes §14.5's gap for a member's new device: a sender records which members hold its key,
// not which of their devices, so without asking a device added later would read nothing from a
// member until that member's next rotation. The message that found the gap stays unread (the answer
// holds the chain from where it is now, and no earlier key can be computed from it); what follows reads.
using System.Security.Cryptography;
using Parley.EndToEnd.SenderKeys;

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

    /// <summary>Queues an answer when the asker is a member and the key asked for is the one this device sends with now.</summary>
    private bool TakeKeyRequest(SenderKeyWant want)
    {
        lock (_lock)
        {
            // Checked again before answering (a change may be read meanwhile); here only to spend no rate on what cannot be answered.
            return want.Device.Length > 0 && _byId.TryGetValue(want.GroupId, out GroupState? group)
                && (!group.MembersKnown || group.Members.Contains(want.User))
                && group.Own is { } own && !group.Stale && own.KeyId == want.KeyId
                && _requests.WantAnswer(want);
        }
    }

    /// <summary>
    /// Sends the requests this device owes and the answers it owes, each to one device over the
    /// pairwise sessions; the number sent. <paramref name="persist"/> saves the state after (the
    /// pairwise sessions moved on). A request or answer the server or a changed identity refuses is dropped.
    /// </summary>
    public async Task<int> SendKeyRequestsAsync(ChatClient client, Action? persist = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        List<SenderKeyWant> asks, answers;
        lock (_lock)
        {
            asks = _requests.TakeAsks();
            answers = _requests.TakeAnswers();
        }
        int sent = 0;
        try
        {
            foreach (SenderKeyWant ask in asks)
            {
                byte[] payload = GroupPayloads.EncodeKeyRequest(Convert.FromHexString(ask.GroupId), ask.KeyId, E2eMessageId.New());
                sent += await SendToDeviceAsync(client, ask, payload, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }
            foreach (SenderKeyWant answer in answers)
            {
                if (await AnswerFor(client, answer, cancellationToken).ConfigureAwait(false) is not { } payload)
                {
                    continue;
                }
                try
                {
                    sent += await SendToDeviceAsync(client, answer, payload, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(payload);
                }
            }
        }
        finally
        {
            if (asks.Count + answers.Count > 0)
            {
                persist?.Invoke();
            }
        }
        return sent;
    }

    /// <summary>Our current key's distribution for the asker, or null when it may not have it (not a member, or the key is stale or another one).</summary>
    private async Task<byte[]?> AnswerFor(ChatClient client, SenderKeyWant want, CancellationToken cancellationToken)
    {
        string name;
        bool ask;
        lock (_lock)
        {
            if (!_byId.TryGetValue(want.GroupId, out GroupState? group))
            {
                return null;
            }
            name = group.Name;
            ask = !group.MembersKnown;
        }
        if (ask)
        {
            try
            {
                await CurrentAsync(client, name, cancellationToken).ConfigureAwait(false);
            }
            catch (ChatException)
            {
                return null;
            }
        }
        lock (_lock)
        {
            if (!_byId.TryGetValue(want.GroupId, out GroupState? group) || !group.MembersKnown || !group.Members.Contains(want.User)
                || group.Own is not { } own || group.Stale || own.KeyId != want.KeyId)
            {
                return null;
            }
            using SenderKeyDistribution distribution = own.Distribution();
            return GroupPayloads.EncodeDistribution(distribution);
        }
    }

    private async Task<bool> SendToDeviceAsync(ChatClient client, SenderKeyWant to, byte[] payload, CancellationToken cancellationToken)
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
    }
}
