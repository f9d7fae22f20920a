using Parley.Cli.Commands;
using Parley.Cli.Terminal;
using Parley.Messaging;

namespace Parley.Tests.Cli.Terminal;

/// <summary>The pure parts of the chat's display: column widths, the wrap-aware renderer, colour, times, JSON lines, back-off and the offline queue.</summary>
public class TerminalTextTests
{
    [Theory]
    [InlineData("abc", 3)]
    [InlineData("日本語", 6)]
    [InlineData("\U0001F600", 2)]
    [InlineData("e\u0301", 1)]
    [InlineData("\u2764\uFE0F", 2)]
    [InlineData("ｈｉ", 4)]
    public void Wide_characters_and_emoji_take_two_columns_and_a_combining_mark_none(string text, int columns) =>
        Assert.Equal(columns, TextCells.Width(text));

    [Fact]
    public void The_renderer_wraps_like_a_terminal_a_wide_character_that_does_not_fit_moves_to_the_next_row()
    {
        Assert.Equal((0, 9), LineRenderer.Advance("123456789", 10));
        Assert.Equal((0, 10), LineRenderer.Advance("1234567890", 10));
        Assert.Equal((1, 1), LineRenderer.Advance("12345678901", 10));
        // Nine columns used: the emoji needs two, so it starts the next row.
        Assert.Equal((1, 2), LineRenderer.Advance("123456789\U0001F600", 10));
    }

    [Fact]
    public void Drawing_again_erases_from_the_first_row_of_the_last_drawing()
    {
        LineRenderer renderer = new();
        string first = renderer.Draw("> ", "> ", "abcdefghijkl", 12, 10);
        // 14 columns on a 10-column terminal: two rows, the cursor on the second.
        Assert.StartsWith("\r\u001b[J> abcdefghijkl", first);
        string second = renderer.Draw("> ", "> ", "abcdefghijkl", 0, 10);
        Assert.StartsWith("\u001b[1A\r\u001b[J", second);
        // The cursor goes back up to the first row, just after the prompt.
        Assert.EndsWith("\u001b[1A\r\u001b[2C", second);
        // A line that exactly fills the row moves to a fresh row, so the next erase counts it.
        string full = renderer.Draw("> ", "> ", "abcdefgh", 8, 10);
        Assert.EndsWith("abcdefgh\r\n\r", full);
        Assert.StartsWith("\u001b[1A\r", renderer.Erase());
    }

    [Fact]
    public void After_a_resize_the_cursor_row_is_found_again_at_the_new_width()
    {
        LineRenderer renderer = new();
        renderer.Draw("> ", "> ", "abcdefghijkl", 12, 40);
        renderer.Resized("> ", "abcdefghijkl", 12, 5);
        Assert.StartsWith("\u001b[2A\r", renderer.Erase());
    }

    [Fact]
    public void Colour_marks_errors_statuses_and_senders_and_is_off_with_no_color_or_dumb_terminals()
    {
        string error = LineStyle.Apply("[ERROR] There is no user 'carol'");
        Assert.Contains("\u001b[31m", error);
        Assert.Contains("There is no user 'carol'", error);
        string message = LineStyle.Apply("14:05 [NEW MESSAGE] From bob: hi");
        Assert.Contains("\u001b[1m\u001b[33mbob\u001b[0m", message);
        Assert.Equal("plain text", LineStyle.Apply("plain text"));
        Assert.True(LineStyle.Enabled(true, _ => null));
        Assert.False(LineStyle.Enabled(true, name => name == "NO_COLOR" ? "1" : null));
        Assert.True(LineStyle.Enabled(true, name => name == "NO_COLOR" ? "" : null));
        Assert.False(LineStyle.Enabled(true, name => name == "TERM" ? "dumb" : null));
        Assert.False(LineStyle.Enabled(false, _ => null));
    }

    [Fact]
    public void A_message_shows_the_server_time_hours_today_and_the_date_for_older_ones()
    {
        TimeZoneInfo utc = TimeZoneInfo.Utc;
        DateTimeOffset now = new(2026, 5, 3, 18, 0, 0, TimeSpan.Zero);
        long today = new DateTimeOffset(2026, 5, 3, 14, 5, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        long older = new DateTimeOffset(2026, 4, 30, 9, 7, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        ChatMessage message = new(1, "bob", "alice", today, MessengerLimits.TextContentType, "hi"u8.ToArray(), Broadcast: false);
        Assert.Equal("14:05 [NEW MESSAGE] From bob: hi", ChatText.Message(message, now, utc));
        Assert.Equal("2026-04-30 09:07 [BROADCAST] From bob: hi", ChatText.Message(message with { Timestamp = older, Broadcast = true }, now, utc));
        Assert.Equal("[NEW MESSAGE] From bob: hi", ChatText.Message(message with { Timestamp = 0 }, now, utc));
        // Local time: the same instant reads 16:05 two hours east.
        TimeZoneInfo east = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");
        Assert.Equal("16:05 ", MessageTime.Prefix(today, now, east));
    }

    [Fact]
    public void Json_lines_carry_a_message_s_fields_and_any_other_line_s_kind_with_controls_escaped()
    {
        ChatMessage message = new(7, "bob", "alice", 1234, MessengerLimits.TextContentType, "hi \u001b[2J"u8.ToArray(), Broadcast: false, FromDevice: "0123456789ab");
        using System.Text.Json.JsonDocument parsed = System.Text.Json.JsonDocument.Parse(JsonLines.Message(message, endToEnd: true));
        Assert.Equal("message", parsed.RootElement.GetProperty("type").GetString());
        Assert.Equal(7, parsed.RootElement.GetProperty("messageId").GetInt64());
        Assert.Equal("bob", parsed.RootElement.GetProperty("from").GetString());
        Assert.Equal(1234, parsed.RootElement.GetProperty("timestamp").GetInt64());
        Assert.True(parsed.RootElement.GetProperty("endToEnd").GetBoolean());
        Assert.Equal("hi \u001b[2J", parsed.RootElement.GetProperty("text").GetString());
        Assert.DoesNotContain('\u001b', JsonLines.Message(message, endToEnd: true));

        using System.Text.Json.JsonDocument status = System.Text.Json.JsonDocument.Parse(JsonLines.Line("[STATUS] Message delivered to bob"));
        Assert.Equal("status", status.RootElement.GetProperty("type").GetString());
        Assert.Equal("Message delivered to bob", status.RootElement.GetProperty("text").GetString());
        using System.Text.Json.JsonDocument users = System.Text.Json.JsonDocument.Parse(JsonLines.Line("[ONLINE USERS] alice, bob"));
        Assert.Equal("online_users", users.RootElement.GetProperty("type").GetString());
        using System.Text.Json.JsonDocument info = System.Text.Json.JsonDocument.Parse(JsonLines.Line("no tag here"));
        Assert.Equal("info", info.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public void Reconnection_waits_grow_to_a_cap_and_are_jittered()
    {
        Random random = new(14);
        for (int attempt = 0; attempt < 12; attempt++)
        {
            double step = Math.Min(30, Math.Pow(2, attempt));
            TimeSpan delay = ReconnectBackoff.Delay(attempt, random);
            Assert.InRange(delay.TotalSeconds, step / 2, step);
        }
        HashSet<double> distinct = [.. Enumerable.Range(0, 20).Select(_ => ReconnectBackoff.Delay(10, random).TotalMilliseconds)];
        Assert.True(distinct.Count > 1);
        Assert.InRange(ReconnectBackoff.Delay(int.MaxValue, random), TimeSpan.FromSeconds(15), ReconnectBackoff.Cap);
    }

    [Fact]
    public void The_offline_queue_keeps_order_and_refuses_what_is_over_its_bounds()
    {
        OfflineQueue queue = new(maxLines: 2, maxBytes: 10);
        Assert.True(queue.TryAdd("send a 1"));
        Assert.False(queue.TryAdd("send a 22"));
        Assert.True(queue.TryAdd("x"));
        Assert.False(queue.TryAdd("y"));
        Assert.True(queue.TryTake(out string first));
        Assert.Equal("send a 1", first);
        Assert.True(queue.TryAdd("send b 3"));
        Assert.True(queue.TryTake(out string second));
        Assert.Equal("x", second);
    }
}
