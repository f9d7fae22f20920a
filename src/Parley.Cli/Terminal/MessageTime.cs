// When a message was sent, as the chat shows it: the server's timestamp (PROTOCOL.md §11.2,
// `timestamp`, Unix ms), in local time; HH:mm for today, the date too for older ones (a message
// that waited in the inbox while its reader was offline).
using System.Globalization;

namespace Parley.Cli.Terminal;

public static class MessageTime
{
    /// <summary>"14:05 " or "2026-05-03 14:05 "; empty when the server gave no time.</summary>
    public static string Prefix(long unixMilliseconds, DateTimeOffset now, TimeZoneInfo zone)
    {
        if (unixMilliseconds <= 0)
        {
            return "";
        }
        DateTimeOffset sent;
        try
        {
            sent = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds), zone);
        }
        catch (ArgumentOutOfRangeException)
        {
            return "";
        }
        DateTimeOffset today = TimeZoneInfo.ConvertTime(now, zone);
        string format = sent.Date == today.Date ? "HH:mm " : "yyyy-MM-dd HH:mm ";
        return sent.ToString(format, CultureInfo.InvariantCulture);
    }
}
