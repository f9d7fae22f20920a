using System.Text;
using Parley.Server.Storage;
using Parley.Server.Storage.Inbox;
using Parley.Tests.Support;

namespace Parley.Tests.Storage;

/// <summary>
/// The inbox log's device names are renumbered when they are compacted (RecipientInbox). A replay
/// puts a compaction's copy of an old message behind newer ones: the entry that insert shifts must
/// keep its device (found by review: it missed the renumbering, and after a restart a message for
/// one device was served to another, which could acknowledge it away).
/// </summary>
public sealed class InboxDeviceRenumberingTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private Task<SqliteMessageStore> OpenAsync() =>
        SqliteMessageStore.OpenAsync(_directory.File("parley.db"), new InboxLogOptions { SegmentBytes = 4096 }, CancellationToken.None);

    private static NewMessage To(string device, string body) =>
        new("sender", "bob", 1, "text/plain", Encoding.UTF8.GetBytes(body), Broadcast: false, device, "sender-device");

    private static async Task<long[]> IdsFor(IMessageStore store, string device) =>
        [.. (await store.LoadInboxAsync("bob", device, 0, 10_000, long.MaxValue, CancellationToken.None)).Select(m => m.Id)];

    [Fact]
    public void An_insert_below_the_newest_that_names_a_new_device_keeps_the_shifted_entries_devices()
    {
        RecipientInbox inbox = new("bob");
        // As a replay: ids 5..20 first (16 names with ""), then copies of ids 3 and 1, the last naming a new device.
        string[] names = ["X", "Y", .. Enumerable.Range(3, 13).Select(i => $"d{i}"), "X"];
        for (int i = 0; i < names.Length; i++)
        {
            inbox.Put(5 + i, 0, names[i], 10, new EntryPlace(1, i * 100, 50), out _);
        }
        inbox.Put(3, 0, "Y", 10, new EntryPlace(2, 0, 50), out _);
        inbox.Put(1, 0, "NEW", 10, new EntryPlace(2, 100, 50), out _);
        RecipientInbox.Entry last = inbox.Live().Last();
        Assert.Equal((20L, "X"), (last.Id, inbox.DeviceName(last.Device)));
    }

    [Fact]
    public async Task After_compactions_and_a_restart_each_message_is_still_its_devices()
    {
        string big = new('b', 3000);
        await using (SqliteMessageStore store = await OpenAsync())
        {
            // Segment 1: id 1 (NEW) and id 2 (the account's, acknowledged below); segment 2: id 3 (Y) and id 4 (likewise).
            await store.CommitAsync([To("NEW", "one" + big), To("", "two" + big)], [], CancellationToken.None);
            await store.CommitAsync([To("Y", "three" + big), To("", "four" + big)], [], CancellationToken.None);
            // Then small ones, all live: X, Y, d3..d15, X (ids 5..20).
            string[] names = ["X", "Y", .. Enumerable.Range(3, 13).Select(i => $"d{i}"), "X"];
            CommitResult small = await store.CommitAsync([.. names.Select((n, i) => To(n, $"small-{i}"))], [], CancellationToken.None);
            Assert.Equal(20, small.Stored[^1].Id);
            // Each acknowledgement and checkpoint compacts a segment: the copies of ids 3 and 1 land behind id 20.
            await store.CommitAsync([], [new InboxAck("bob", "X", 4)], CancellationToken.None);
            await store.CheckpointAsync(CancellationToken.None);
            await store.CommitAsync([], [new InboxAck("bob", "X", 2)], CancellationToken.None);
            await store.CheckpointAsync(CancellationToken.None);
            Assert.Contains(20L, await IdsFor(store, "X"));
        }
        await using SqliteMessageStore reopened = await OpenAsync();
        Assert.DoesNotContain(20L, await IdsFor(reopened, "Y"));
        Assert.Contains(20L, await IdsFor(reopened, "X"));
        long[] forNew = await IdsFor(reopened, "NEW");
        Assert.Equal([1L], forNew);
    }

    public void Dispose() => _directory.Dispose();
}
