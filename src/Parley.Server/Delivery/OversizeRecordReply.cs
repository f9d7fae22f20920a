// PROTOCOL.md §11.2: a request too large for the record limit is skipped by the channel unread,
// so its ref is unknown; the client hears about it as an error with ref 0 that names the sizes.
using Parley.Messaging;
using Parley.Protocol;

namespace Parley.Server.Delivery;

internal static class OversizeRecordReply
{
    public static ErrorMessage For(SkippedRecord skipped, int maxBodyLength) =>
        new(0, ErrorCodes.MessageTooLarge,
            $"a request of {skipped.Length} bytes exceeds the limit of {skipped.Limit} bytes (message bodies up to {maxBodyLength} bytes); it was discarded unread");
}
