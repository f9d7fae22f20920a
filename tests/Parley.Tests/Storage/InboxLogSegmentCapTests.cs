using System.Text;
using Parley.Server.Storage;
using Parley.Server.Storage.Inbox;

namespace Parley.Tests.Storage;

/// <summary>
/// A segment cannot grow past its hard cap (an entry's place is a 32-bit offset: 2 GiB; lowered
/// here). The cap is reached only while new segments cannot be started; a commit that would cross
/// it fails whole, takes no id, and the log goes on once a segment can be started again.
/// </summary>
public sealed class InboxLogSegmentCapTests : IDisposable
{
    private const long Cap = 16 * 1024;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-cap-" + Guid.NewGuid().ToString("N"));

    private static NewMessage To(string recipient, string body) =>
        new("sender", recipient, 1, "text/plain", Encoding.UTF8.GetBytes(body), Broadcast: false, "", "");

    private static string Body(int i) => $"m{i}-" + new string('x', 900);

    [Fact]
    public async Task While_no_new_segment_can_start_the_active_one_stops_at_its_cap_and_a_refused_commit_takes_no_id()
    {
        Directory.CreateDirectory(_root);
        string db = Path.Combine(_root, "parley.db");
        string logDir = SqliteMessageStore.InboxLogDirectory(db);
        InboxLogOptions options = new() { SegmentBytes = 4096, MaxSegmentLength = Cap };
        string firstSegment = Path.Combine(logDir, InboxLogSegment.FileName(1));
        // A failing disk, as far as the log can tell: segment 2's file cannot be created.
        string blocker = Path.Combine(logDir, InboxLogSegment.FileName(2) + ".tmp");
        List<long> stored = [];
        await using (SqliteMessageStore store = await SqliteMessageStore.OpenAsync(db, options, CancellationToken.None))
        {
            Directory.CreateDirectory(blocker);
            Exception? refused = null;
            for (int i = 0; i < 100 && refused is null; i++)
            {
                try
                {
                    stored.Add((await store.CommitAsync([To("bob", Body(i))], [], CancellationToken.None)).Stored[0].Id);
                }
                catch (Exception e)
                {
                    refused = e;
                }
            }

            // Past SegmentBytes the log kept appending to segment 1 (housekeeping failing), up to the cap and no further.
            // The refusal names its cause: the segment that could not be started.
            Assert.True(refused is IOException or UnauthorizedAccessException, refused?.ToString());
            Assert.Contains(Path.GetFileName(blocker), refused!.Message);
            // Opening it failed; the clean-up's own failure (deleting what is a directory) does not stand in for that.
            Assert.Contains("InboxLogSegment.Create", refused.StackTrace);
            Assert.DoesNotContain("DeleteFile", refused.StackTrace);
            Assert.True(stored.Count > 4096 / 900, $"only {stored.Count} commits before the refusal");
            long length = new FileInfo(firstSegment).Length;
            Assert.InRange(length, Cap - 1024, Cap);
            Assert.False(File.Exists(Path.Combine(logDir, InboxLogSegment.FileName(2))));
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored);

            // The same again is refused the same way, and still nothing is written.
            await Assert.ThrowsAnyAsync<Exception>(() => store.CommitAsync([To("bob", Body(stored.Count))], [], CancellationToken.None));
            Assert.Equal(length, new FileInfo(firstSegment).Length);

            // The disk recovers: the next commit starts segment 2 and gets the next id, none skipped.
            Directory.Delete(blocker);
            long next = (await store.CommitAsync([To("bob", Body(stored.Count))], [], CancellationToken.None)).Stored[0].Id;
            Assert.Equal(stored.Count + 1, next);
            Assert.True(File.Exists(Path.Combine(logDir, InboxLogSegment.FileName(2))));
            stored.Add(next);
        }

        // Everything acknowledged is there after a restart, in order, with its body.
        await using SqliteMessageStore reopened = await SqliteMessageStore.OpenAsync(db, options, CancellationToken.None);
        IReadOnlyList<StoredMessage> bob = await reopened.LoadInboxAsync("bob", "", 0, 1000, long.MaxValue, CancellationToken.None);
        Assert.Equal(stored, bob.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(0, stored.Count).Select(Body), bob.Select(m => Encoding.UTF8.GetString(m.Body)));
    }

    [Theory]
    [InlineData(4095L)]
    [InlineData(int.MaxValue + 1L)]
    public void A_cap_past_what_a_32_bit_place_can_reach_or_below_a_page_is_refused(long cap)
    {
        InboxLogOptions options = new() { MaxSegmentLength = cap };

        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(nameof(InboxLogOptions.MaxSegmentLength), e.ParamName);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
