using Parley.Cli.Terminal;
using Parley.Messaging;

namespace Parley.Tests.Cli;

/// <summary>Every string the server supplies reaches the chat's terminal cleaned (issue 8, item 5).</summary>
public class ChatTextTests
{
    private const string Hostile = "mallory\u001b[2J\u001b]0;owned\u0007\r\n\u202Eevil";

    private static void AssertClean(string line)
    {
        Assert.DoesNotContain('\u001b', line);
        Assert.DoesNotContain('\u0007', line);
        Assert.DoesNotContain('\r', line);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\u202E', line);
        Assert.Contains("allory?[2J", line);
    }

    [Fact]
    public void Sender_names_and_bodies_are_sanitised_and_long_bodies_kept_whole()
    {
        string body = Hostile + new string('x', 10_000);
        ChatMessage message = new(1, Hostile, "alice", 0, MessengerLimits.TextContentType, System.Text.Encoding.UTF8.GetBytes(body), Broadcast: false);
        string line = ChatText.Message(message);
        AssertClean(line);
        Assert.EndsWith(new string('x', 10_000), line);
        AssertClean(ChatText.Message(message with { Broadcast = true, ContentType = "image/png\u001b[31m" }));
    }

    [Fact]
    public void Notices_user_lists_send_results_logins_and_errors_are_sanitised()
    {
        AssertClean(ChatText.Notice(new ErrorMessage(0, ErrorCodes.ServerShuttingDown, Hostile)));
        AssertClean(ChatText.OnlineUsers(["alice", Hostile]));
        AssertClean(ChatText.SendStatus(new SendResult(1, 1, Hostile, DeliveryStatus.Delivered)));
        AssertClean(ChatText.SendStatus(new SendResult(1, 1, Hostile, DeliveryStatus.Queued)));
        AssertClean(ChatText.Authenticated(new LoginResult(true, Hostile, null, true, null, 0), byToken: false));
        AssertClean(ChatText.Error(Hostile));
        AssertClean(ChatText.Error("Login failed", "too many failed logins; " + Hostile));
    }

    [Fact]
    public void A_long_server_error_is_cut_short()
    {
        string line = ChatText.Error("Login failed", new string('e', 100_000));
        Assert.True(line.Length < 400, line.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
