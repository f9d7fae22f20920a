using System.CommandLine;
using Parley.Server.Hosting;

namespace Parley.Cli.Commands;

/// <summary>The <c>parley server</c> flags for delivery and storage bounds (PROTOCOL.md §11.4); defaults come from <see cref="ServerOptions"/>.</summary>
internal sealed class DeliveryLimitOptions
{
    private static readonly ServerOptions Defaults = new();

    private readonly Option<long> _outboxBytes = new("--max-outbox-bytes") { Description = "Message bytes held in memory for one connection; more waits in the store", DefaultValueFactory = _ => Defaults.MaxOutboxBytes };
    private readonly Option<int> _inboxMessages = new("--max-inbox-messages") { Description = "Undelivered messages one user's inbox may hold (then inbox_full)", DefaultValueFactory = _ => Defaults.MaxInboxMessages };
    private readonly Option<long> _inboxBytes = new("--max-inbox-bytes") { Description = "Undelivered body bytes one user's inbox may hold (then inbox_full)", DefaultValueFactory = _ => Defaults.MaxInboxBytes };
    private readonly Option<long> _inboxSegmentBytes = new("--inbox-segment-bytes") { Description = "Size at which the inbox log starts a new segment file (4096 to 1 GiB)", DefaultValueFactory = _ => Defaults.InboxSegmentBytes };
    private readonly Option<long> _storedMessages = new("--max-stored-messages") { Description = "Undelivered messages the server holds in all, each indexed in memory (then storage_full)", DefaultValueFactory = _ => Defaults.MaxStoredMessages };
    private readonly Option<double> _messagesPerSecond = new("--sender-messages-per-second") { Description = "Sustained messages per second one user may send (then rate_limited)", DefaultValueFactory = _ => Defaults.SenderMessagesPerSecond };
    private readonly Option<int> _messageBurst = new("--sender-message-burst") { Description = "Messages one user may send at once above the sustained rate", DefaultValueFactory = _ => Defaults.SenderMessageBurst };
    private readonly Option<long> _bytesPerSecond = new("--sender-bytes-per-second") { Description = "Sustained body bytes per second one user may send (then rate_limited)", DefaultValueFactory = _ => Defaults.SenderBytesPerSecond };
    private readonly Option<long> _byteBurst = new("--sender-byte-burst") { Description = "Body bytes one user may send at once above the sustained rate", DefaultValueFactory = _ => Defaults.SenderByteBurst };
    private readonly Option<int> _broadcastRecipients = new("--max-broadcast-recipients") { Description = "Users one broadcast may reach (then too_many_recipients)", DefaultValueFactory = _ => Defaults.MaxBroadcastRecipients };
    private readonly Option<int> _groupMembers = new("--max-group-members") { Description = "Members one group may have, at most the sender message burst (then group_full)", DefaultValueFactory = _ => Defaults.MaxGroupMembers };
    private readonly Option<int> _groupsPerUser = new("--max-groups-per-user") { Description = "Groups one user may be in (then too_many_groups)", DefaultValueFactory = _ => Defaults.MaxGroupsPerUser };
    private readonly Option<string> _groupAdds = new("--group-adds")
    {
        Description = "ask: a user named in a group who has not allowed the adder is invited and joins by accepting; everyone: added at once (for clients from before invitations)",
        DefaultValueFactory = _ => "ask",
    };
    private readonly Option<double> _expiryDays = new("--message-expiry-days") { Description = "Undelivered messages older than this are deleted", DefaultValueFactory = _ => Defaults.MessageExpiry.TotalDays };
    private readonly Option<long> _minFreeDisk = new("--min-free-disk-bytes") { Description = "Below this free space on the data disk, new messages get storage_full (0: off)", DefaultValueFactory = _ => Defaults.MinFreeDiskBytes };

    public void AddTo(Command command)
    {
        _groupAdds.AcceptOnlyFromAmong("ask", "everyone");
        foreach (Option option in new Option[] { _outboxBytes, _inboxMessages, _inboxBytes, _storedMessages, _inboxSegmentBytes, _messagesPerSecond, _messageBurst, _bytesPerSecond, _byteBurst, _broadcastRecipients, _groupMembers, _groupsPerUser, _groupAdds, _expiryDays, _minFreeDisk })
        {
            command.Options.Add(option);
        }
    }

    public ServerOptions Apply(ParseResult result, ServerOptions options)
    {
        double expiryDays = result.GetValue(_expiryDays);
        return options with
        {
            MaxOutboxBytes = result.GetValue(_outboxBytes),
            MaxInboxMessages = result.GetValue(_inboxMessages),
            MaxInboxBytes = result.GetValue(_inboxBytes),
            MaxStoredMessages = result.GetValue(_storedMessages),
            InboxSegmentBytes = result.GetValue(_inboxSegmentBytes),
            SenderMessagesPerSecond = result.GetValue(_messagesPerSecond),
            SenderMessageBurst = result.GetValue(_messageBurst),
            SenderBytesPerSecond = result.GetValue(_bytesPerSecond),
            SenderByteBurst = result.GetValue(_byteBurst),
            MaxBroadcastRecipients = result.GetValue(_broadcastRecipients),
            MaxGroupMembers = result.GetValue(_groupMembers),
            MaxGroupsPerUser = result.GetValue(_groupsPerUser),
            AskBeforeGroupAdds = result.GetValue(_groupAdds) != "everyone",
            // Out-of-range values are refused with a clear message by the server's own check.
            MessageExpiry = expiryDays is > 0 and <= 36_500 ? TimeSpan.FromDays(expiryDays) : TimeSpan.Zero,
            MinFreeDiskBytes = result.GetValue(_minFreeDisk),
        };
    }
}
