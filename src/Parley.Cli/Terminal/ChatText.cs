// What `parley chat` prints for things the server sent. A server (or whoever holds its key) chooses
// every one of these strings, so each goes through the one sanitiser before it reaches the terminal.
using System.Text;
using Parley.Messaging;
using Parley.Protocol.Text;

namespace Parley.Cli.Terminal;

public static class ChatText
{
    public static string Message(ChatMessage message) => Message(message, DateTimeOffset.Now, TimeZoneInfo.Local);

    /// <summary>The message's line, led by the time the server stamped it (PROTOCOL.md §11.2).</summary>
    public static string Message(ChatMessage message, DateTimeOffset now, TimeZoneInfo zone)
    {
        s_lastShown = message;
        // The body is what the user came for: never shortened, only cleaned.
        string text = UntrustedText.Sanitize(maxLength: int.MaxValue, value: message.ContentType.StartsWith("text/", StringComparison.Ordinal)
            ? Encoding.UTF8.GetString(message.Body)
            : $"({message.Body.Length} bytes of {message.ContentType})");
        string from = UntrustedText.Sanitize(message.From);
        string time = MessageTime.Prefix(message.Timestamp, now, zone);
        return message.Broadcast ? $"{time}[BROADCAST] From {from}: {text}" : $"{time}[NEW MESSAGE] From {from}: {text}";
    }

    // The last message this thread formatted. The end-to-end layer opens a message and formats it
    // in one call (ChatEndToEnd.Show), so this is how --json gets the opened text and its fields
    // without a second decryption (which the ratchet would refuse).
    [ThreadStatic]
    private static ChatMessage? s_lastShown;

    /// <summary>The message formatted last on this thread, if any, and forgets it.</summary>
    public static ChatMessage? TakeLastShown()
    {
        ChatMessage? shown = s_lastShown;
        s_lastShown = null;
        return shown;
    }

    public static string Notice(ErrorMessage notice) => $"[SERVER] {UntrustedText.Sanitize(notice.Message)}";

    public static string OnlineUsers(IEnumerable<string> users) =>
        $"[ONLINE USERS] {string.Join(", ", users.Select(user => UntrustedText.Sanitize(user)))}";

    public static string SendStatus(SendResult sent)
    {
        string to = UntrustedText.Sanitize(sent.To);
        return sent.Status == DeliveryStatus.Delivered
            ? $"[STATUS] Message delivered to {to}"
            : $"[STATUS] {to} is offline; message queued for delivery";
    }

    public static string Authenticated(LoginResult result, bool byToken) =>
        $"[CLIENT] Authenticated as {UntrustedText.Sanitize(result.User)}{(byToken ? " (device token)" : result.Registered ? " (new account registered)" : "")}";

    /// <summary>An error whose text came from the server or the connection: "[ERROR] " and the cleaned text, capitalised.</summary>
    public static string Error(string? untrusted) => $"[ERROR] {Capitalise(UntrustedText.Sanitize(untrusted))}";

    /// <summary>An error with a fixed lead-in of ours and a detail from outside, e.g. "Login failed: …".</summary>
    public static string Error(string lead, string? untrusted) => $"[ERROR] {lead}: {UntrustedText.Sanitize(untrusted)}";

    public static string TooLarge(Parley.Client.MessageTooLargeException e) =>
        $"[ERROR] Not sent: the message is {e.Length} bytes; the server accepts at most {e.Limit} bytes.";

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>A contact's join or leave notice (PROTOCOL.md §11.6).</summary>
    /// <summary>A receipt that moved our messages forward: "[STATUS] bob read your message" (PROTOCOL.md §13.11).</summary>
    public static string Receipt(Parley.Client.EndToEnd.ReceiptShown shown)
    {
        string what = shown.MessageIds.Count == 1 ? "your message" : $"{shown.MessageIds.Count} of your messages";
        string verb = shown.Type == Parley.Client.EndToEnd.ReceiptType.Read ? "read" : "received";
        string where = shown.Group is null ? "" : $" in #{UntrustedText.Sanitize(shown.Group)}";
        return $"[STATUS] {UntrustedText.Sanitize(shown.From)} {verb} {what}{where}";
    }

    public static string Presence(PresenceChanged change) =>
        $"[STATUS] {UntrustedText.Sanitize(change.User)} {(change.Online ? "is online" : "went offline")}";
}
