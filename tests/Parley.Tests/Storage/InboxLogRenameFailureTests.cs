using System.Text;
using Parley.Server.Storage;
using Parley.Server.Storage.Inbox;
using Parley.Tests.Support;
using Xunit.Abstractions;

namespace Parley.Tests.Storage;

/// <summary>A deletion whose rename fails (a failing disk) must keep the segment, whose removals are still needed.</summary>
public sealed class InboxLogRenameFailureTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-rename-" + Guid.NewGuid().ToString("N"));

    private static NewMessage To(string recipient, string body) =>
        new("sender", recipient, 1, "text/plain", Encoding.UTF8.GetBytes(body), Broadcast: false, "", "");

    [Fact]
    public async Task A_failed_rename_keeps_the_segment_so_no_acknowledged_message_comes_back_after_a_restart()
    {
        Directory.CreateDirectory(_root);
        string db = Path.Combine(_root, "parley.db");
        string logDir = SqliteMessageStore.InboxLogDirectory(db);
        bool failNext = false;
        InboxLogOptions options = new()
        {
            SegmentBytes = 4096,
            Step = what =>
            {
                if (what.StartsWith("renaming ", StringComparison.Ordinal) && failNext)
                {
                    failNext = false;
                    throw new IOException("injected: rename failed (EIO)");
                }
            },
        };
        {
            await using (SqliteMessageStore store = await SqliteMessageStore.OpenAsync(db, options, CancellationToken.None))
            {
                // Segment 1: bob's message ACKED-ONE and carol's filler that stays.
                long acked = (await store.CommitAsync([To("bob", "ACKED-ONE")], [], CancellationToken.None)).Stored[0].Id;
                for (int i = 0; i < 30; i++)
                {
                    await store.CommitAsync([To("carol", $"stay-{i}-" + new string('x', 200))], [], CancellationToken.None);
                }
                // The removal of ACKED-ONE goes into a later segment.
                await store.CommitAsync([], [new InboxAck("bob", "", acked)], CancellationToken.None);
                // The checkpoint compacts segment 1 (it holds ACKED-ONE's bytes): its rename fails.
                failNext = true;
                await Assert.ThrowsAsync<IOException>(() => store.CheckpointAsync(CancellationToken.None));
                output.WriteLine("after failed checkpoint: " + string.Join(" ", Directory.GetFiles(logDir).Select(Path.GetFileName).Order()));
                // Everything carol had is now acknowledged, and traffic goes on; later checkpoints delete every segment holding the removal.
                for (long id = 1; id <= 30; id++)
                {
                    await store.CommitAsync([To("dave", "later-" + new string('y', 300))], [new InboxAck("carol", "", id)], CancellationToken.None);
                }
                for (long id = 1; id <= 30; id++)
                {
                    await store.CommitAsync([], [new InboxAck("dave", "", id)], CancellationToken.None);
                }
                await store.CheckpointAsync(CancellationToken.None);
                await store.CheckpointAsync(CancellationToken.None);
                await store.Shredded.WithTimeout();
                Assert.Empty(await store.LoadInboxAsync("bob", "", 0, 100, long.MaxValue, CancellationToken.None));
                output.WriteLine("before restart: " + string.Join(" ", Directory.GetFiles(logDir).Select(Path.GetFileName).Order()));
            }
            await using (SqliteMessageStore reopened = await SqliteMessageStore.OpenAsync(db, options, CancellationToken.None))
            {
                IReadOnlyList<StoredMessage> bob = await reopened.LoadInboxAsync("bob", "", 0, 100, long.MaxValue, CancellationToken.None);
                output.WriteLine("bob after restart: " + string.Join(",", bob.Select(m => m.Id + ":" + Encoding.UTF8.GetString(m.Body))));
                Assert.Empty(bob);
            }
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
