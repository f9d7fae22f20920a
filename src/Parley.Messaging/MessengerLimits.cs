namespace Parley.Messaging;

public static class MessengerLimits
{
    /// <summary>Default largest message body: 64 KiB.</summary>
    public const int DefaultMaxBodyLength = 64 * 1024;

    /// <summary>
    /// The record limit for messenger connections: room for a maximal body in base64 inside JSON
    /// (4/3 expansion plus the envelope), far below the channel's 1 MiB default.
    /// </summary>
    public static int RecordLimitFor(int maxBodyLength) => checked(maxBodyLength / 3 * 4 + 8 * 1024);

    public const string TextContentType = "text/plain; charset=utf-8";
}
