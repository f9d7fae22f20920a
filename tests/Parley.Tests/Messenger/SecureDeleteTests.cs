using System.Text;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

public class SecureDeleteTests
{
    [Fact]
    public async Task An_acknowledged_body_is_gone_from_the_database_its_log_and_the_inbox_log_after_a_checkpoint()
    {
        ManualClock clock = new();
        // Keep-alive runs on the same clock: keep it out of the two hours this test moves.
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            KeepAliveInterval = TimeSpan.FromDays(1),
            IdleTimeout = TimeSpan.FromDays(2),
        });
        string marker = "marker-" + Guid.NewGuid().ToString("N");
        byte[] markerBytes = Encoding.UTF8.GetBytes(marker);
        await using RawMessenger alice = await RawMessenger.LoginAsync(server, "alice");
        await using ChatClient bob = await server.LoginAsync("bob");
        await bob.SendTextAsync("alice", marker).WithTimeout();
        ChatMessage received = Assert.IsType<ChatMessage>(await alice.NextAsync());
        Assert.Equal(marker, received.Text());

        // Unacknowledged, the body is in the file: the search below can see it.
        await SweepAsync(server, clock);
        Assert.True(FilesContain(server, markerBytes), "the marker should be stored before it is acknowledged");

        await alice.SendRawAsync(new AckRequest([received.MessageId]));
        // Requests are handled in order: once the list is answered, the ack is queued; the sweep commits it first.
        Assert.IsType<UserList>(await alice.RequestAsync(r => new ListRequest(r)));
        await SweepAsync(server, clock);
        // The sweep hands the log's deleted segments to be overwritten in the background.
        await ((Parley.Server.Storage.SqliteMessageStore)server.Server.Store).Shredded.WithTimeout();
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "alice"));
        Assert.False(FilesContain(server, markerBytes), "an acknowledged body lingers in the database or its log");
    }

    private static async Task SweepAsync(TestServer server, ManualClock clock)
    {
        Task swept = server.Server.Maintenance.NextSweep;
        clock.Advance(TimeSpan.FromHours(1));
        await swept.WithTimeout();
    }

    private static bool FilesContain(TestServer server, byte[] needle)
    {
        foreach (string path in StoredMessages.MessageFiles(StoredMessages.DatabasePath(server)))
        {
            if (!File.Exists(path))
            {
                continue;
            }
            using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using MemoryStream copy = new();
            stream.CopyTo(copy);
            if (copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(needle) >= 0)
            {
                return true;
            }
        }
        return false;
    }
}
