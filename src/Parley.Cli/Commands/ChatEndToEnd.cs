// parley chat's end-to-end layer: loads (or makes and publishes) this device's keys, opens what
// arrives, encrypts what is sent, and answers `verify` and `trust`. The state is saved after
// every change and before the message that changed it is acknowledged (the handler returns
// first), so a crash never leaves a ratchet behind a message the server already dropped.
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.EndToEnd;
using Parley.EndToEnd.SafetyNumbers;
using Parley.Messaging;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

internal sealed class ChatEndToEnd : IDisposable
{
    private readonly E2eDevice _device;
    private readonly E2eDeviceFile _file;
    private readonly object _saveLock = new();

    private ChatEndToEnd(E2eDevice device, E2eDeviceFile file, bool created)
    {
        _device = device;
        _file = file;
        Created = created;
    }

    /// <summary>True when this run made the device's keys (they still have to be published).</summary>
    public bool Created { get; }

    public static ChatEndToEnd Open(ParleyHome home, ChatClient client, string user)
    {
        E2eDeviceFile file = new(home.EndToEndStatePath(client.ServerIdentity.Fingerprint, user, client.DeviceId!));
        if (file.Exists)
        {
            return new ChatEndToEnd(file.Load(user), file, created: false);
        }
        E2eDevice device = E2eDevice.Create(user);
        ChatEndToEnd chat = new(device, file, created: true);
        chat.Save();
        return chat;
    }

    /// <summary>Publishes keys made in this run, or tops up the one-time keys of a known device; null on success, else what to tell the user.</summary>
    public async Task<string?> PublishOrReplenishAsync(ChatClient client, CancellationToken cancellationToken)
    {
        try
        {
            if (Created)
            {
                await _device.PublishAsync(client, cancellationToken);
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

    /// <summary>The line to print for an incoming message; end-to-end ones are opened, and what cannot be read is said, never shown.</summary>
    public string Show(ChatMessage message)
    {
        if (message.ContentType != E2eDevice.ContentType)
        {
            return ChatText.Message(message) + "  (not end-to-end encrypted)";
        }
        E2eIncoming opened = _device.Open(message);
        Save();
        string from = UntrustedText.Sanitize(message.From);
        if (!opened.Opened)
        {
            return $"[ERROR] A message from {from} could not be decrypted ({UntrustedText.Sanitize(opened.Reason)}); it is not shown";
        }
        return ChatText.Message(message with
        {
            ContentType = MessengerLimits.TextContentType,
            Body = System.Text.Encoding.UTF8.GetBytes(opened.Text!),
            Broadcast = opened.Broadcast,
        });
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
            E2eSent sent = await _device.SendTextAsync(client, user, text, cancellationToken);
            if (sent.RecipientDevices == 0)
            {
                return $"[ERROR] {user} has no device with end-to-end keys yet; nothing was sent (messages are never sent in the clear)";
            }
            return ChatText.SendStatus(new SendResult(0, 0, user, sent.Delivered ? DeliveryStatus.Delivered : DeliveryStatus.Queued));
        }
        catch (IdentityChangedException)
        {
            return $"""
                @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
                @    WARNING: {user.ToUpperInvariant()}'S IDENTITY KEY HAS CHANGED!    @
                @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
                Someone may be reading your messages to {user}, or {user} reinstalled.
                Compare safety numbers with {user} out of band ('verify {user}'), then 'trust {user}'.
                Nothing was sent.
                """;
        }
        finally
        {
            Save();
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
                    held.Add(user);
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

    public string Trust(string user)
    {
        if (!Usernames.TryNormalize(user, out string name, out string error))
        {
            return $"[ERROR] {error}";
        }
        int accepted = 0;
        foreach ((string deviceId, bool changed) in _device.KnownDevicesOf(name))
        {
            if (changed)
            {
                _device.TrustNewIdentity(name, deviceId);
                accepted++;
            }
        }
        Save();
        return accepted == 0 ? $"[STATUS] No changed identity for {name}" : $"[STATUS] Trusted the new identity of {accepted} device(s) of {name}";
    }

    private void Save()
    {
        lock (_saveLock)
        {
            _file.Save(_device);
        }
    }

    public void Dispose() => _device.Dispose();
}
