// `parley chat --json`: every line the chat would print becomes one JSON object on its own line,
// for bots (as signal-cli's --output=json). A message carries its fields; any other line its kind
// (from the seed's tag: [STATUS] → "status", [ERROR] → "error", [ONLINE USERS] → "online_users")
// and its text. The default encoder escapes control, bidi and non-ASCII characters, so nothing a
// sender chose reaches a terminal raw even when a bot's output is watched on one.
using System.Text.Json;
using System.Text.RegularExpressions;
using Parley.Messaging;

namespace Parley.Cli.Terminal;

public static partial class JsonLines
{
    /// <param name="message">The message as opened: for an end-to-end one, its text in the body.</param>
    public static string Message(ChatMessage message, bool endToEnd)
    {
        bool isText = message.ContentType.StartsWith("text/", StringComparison.Ordinal);
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["type"] = message.Broadcast ? "broadcast" : "message",
            ["messageId"] = message.MessageId,
            ["from"] = message.From,
            ["fromDevice"] = message.FromDevice,
            ["to"] = message.To,
            ["timestamp"] = message.Timestamp,
            ["endToEnd"] = endToEnd,
            ["contentType"] = message.ContentType,
            ["text"] = isText ? System.Text.Encoding.UTF8.GetString(message.Body) : null,
            ["bodyLength"] = message.Body.Length,
        });
    }

    /// <summary>A receipt that moved our messages forward (PROTOCOL.md §13.11).</summary>
    public static string Receipt(Parley.Client.EndToEnd.ReceiptShown shown) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["type"] = "receipt",
            ["from"] = shown.From,
            ["receipt"] = shown.Type == Parley.Client.EndToEnd.ReceiptType.Read ? "read" : "delivered",
            ["messageIds"] = shown.MessageIds.Select(id => id.ToString()).ToArray(),
            ["group"] = shown.Group,
        });

    /// <summary>A printed line as an object: its tag's kind (or "info") and the rest of it.</summary>
    public static string Line(string line)
    {
        Match match = Tagged().Match(line);
        string type = match.Success ? match.Groups["tag"].Value.ToLowerInvariant().Replace(' ', '_') : "info";
        string text = match.Success ? match.Groups["rest"].Value : line.Trim('\r', '\n');
        return JsonSerializer.Serialize(new Dictionary<string, object?> { ["type"] = type, ["text"] = text });
    }

    [GeneratedRegex(@"^\s*\[(?<tag>[A-Z][A-Z ]*)\] ?(?<rest>.*)$", RegexOptions.Singleline)]
    private static partial Regex Tagged();
}
