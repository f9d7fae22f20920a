using Parley.Messaging;
using Parley.Server.Hosting;

namespace Parley.Server.Delivery;

/// <summary>Checks that the delivery and storage bounds in <see cref="ServerOptions"/> can work together.</summary>
internal static class DeliveryLimits
{
    public static readonly TimeSpan MaxMessageExpiry = TimeSpan.FromDays(36_500);

    /// <exception cref="ArgumentException">A bound is out of range; the message names the option.</exception>
    public static void Validate(ServerOptions options)
    {
        Require(options.MaxOutboxBytes >= 2L * options.MaxBodyLength, $"the outbox bound ({options.MaxOutboxBytes} bytes) must hold at least two maximal bodies ({2L * options.MaxBodyLength} bytes)");
        Require(options.MaxInboxMessages >= 1, "the inbox quota must allow at least 1 message");
        Require(options.MaxStoredMessages >= 1, "the server must be allowed to hold at least 1 undelivered message");
        Require(options.InboxSegmentBytes is >= 4096 and <= 1L << 30, "an inbox log segment is 4096 bytes to 1 GiB (--inbox-segment-bytes)");
        Require(options.MaxInboxBytes >= options.MaxBodyLength, $"the inbox quota ({options.MaxInboxBytes} bytes) must hold one maximal body ({options.MaxBodyLength} bytes)");
        Require(options.SenderMessagesPerSecond > 0 && options.SenderBytesPerSecond > 0, "sender rates must be positive");
        Require(options.SenderMessageBurst >= 1, "the sender message burst must be at least 1");
        Require(options.SenderByteBurst >= options.MaxBodyLength, $"the sender byte burst ({options.SenderByteBurst}) must allow one maximal body ({options.MaxBodyLength} bytes)");
        Require(options.MaxBroadcastRecipients is >= 1 && options.MaxBroadcastRecipients <= options.SenderMessageBurst,
            $"broadcast recipients ({options.MaxBroadcastRecipients}) must be 1 to the sender message burst ({options.SenderMessageBurst})");
        Require(options.MaxGroupMembers >= 1, "a group must be allowed at least 1 member");
        Require(options.MaxGroupsPerUser >= 1, "a user must be allowed at least 1 group");
        Storage.InvitationRules invitations = options.GroupInvitations;
        Require(invitations.MaxPerUser >= 1 && invitations.MaxPerInviter >= 1 && invitations.MaxPerInviter <= invitations.MaxPerUser
            && invitations.MaxAllowed >= 1 && invitations.Lifetime > TimeSpan.Zero,
            "group invitations: at least 1 per user, 1 to that many per inviter, at least 1 allowed user, and a lifetime above 0");
        Require(options.MessageExpiry > TimeSpan.Zero && options.MessageExpiry <= MaxMessageExpiry, "the message expiry must be more than 0 and at most 36,500 days");
        Require(options.SweepInterval > TimeSpan.Zero, "the sweep interval must be positive");
        Require(options.MinFreeDiskBytes >= 0, "the free-disk watermark cannot be negative");
        Require(options.MaxFileBytes >= 1, "the largest file must be at least 1 byte (--max-file-mib)");
        Require(options.MaxUnfinishedUploadsPerAccount >= 1, "an account must be allowed at least 1 unfinished upload");
        Require(options.MaxUnfinishedUploadBytesPerAccount >= options.MaxFileBytes,
            $"unfinished uploads of one account ({options.MaxUnfinishedUploadBytesPerAccount} bytes) must hold one largest file ({options.MaxFileBytes} bytes)");
        Require(options.MaxInboxFileBytes >= options.MaxFileBytes,
            $"the inbox file quota ({options.MaxInboxFileBytes} bytes) must hold one largest file ({options.MaxFileBytes} bytes)");
        long largest = Storage.FileCharges.LargestCiphertext(options.MaxFileBytes);
        Require(options.MaxInboxFileBytesFromOneSender >= largest,
            $"what one sender's files may hold of an inbox ({options.MaxInboxFileBytesFromOneSender} bytes) must hold one largest file ({largest} bytes of ciphertext)");
        long largestForAGroup = Storage.FileCharges.ForUploader(largest, MessengerLimits.MaxFileRecipients);
        Require(options.MaxWaitingFileBytesPerUploader >= largestForAGroup,
            $"the files one uploader may have waiting ({options.MaxWaitingFileBytesPerUploader} bytes) must hold one largest file for {MessengerLimits.MaxFileRecipients} recipients ({largestForAGroup} bytes as charged)");
        Require(options.UploadExpiry > TimeSpan.Zero, "the upload expiry must be more than 0 and at most a year");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
