using System.Text;
using Microsoft.Data.Sqlite;
using Parley.Server.Storage;
using Parley.Server.Storage.Inbox;
using Parley.Tests.Support;

namespace Parley.Tests.Storage;

/// <summary>
/// The SQLite store's inbox log (Storage/Inbox, docs/decisions/0017) on real files: what a crash
/// can leave and what it cannot, segments deleted and overwritten, compaction, heads kept, and the
/// messages an earlier version kept in the database moved in. The contract every store keeps is in
/// StoreContractTests.
/// </summary>
public sealed class InboxLogTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string DatabasePath => _directory.File("parley.db");

    private string LogDirectory => SqliteMessageStore.InboxLogDirectory(DatabasePath);

    /// <summary>Segments of 4 KiB: a few dozen messages each, so tests see many segments come and go.</summary>
    private Task<SqliteMessageStore> OpenAsync(long segmentBytes = 4096) =>
        SqliteMessageStore.OpenAsync(DatabasePath, new InboxLogOptions { SegmentBytes = segmentBytes }, CancellationToken.None);

    private static NewMessage To(string recipient, string body, string device = "") =>
        new("sender", recipient, 1, "text/plain", Encoding.UTF8.GetBytes(body), Broadcast: false, device, "sender-device");

    private static string Text(StoredMessage m) => Encoding.UTF8.GetString(m.Body);

    private static async Task<IReadOnlyList<StoredMessage>> InboxAsync(IMessageStore store, string recipient) =>
        await store.LoadInboxAsync(recipient, "", 0, 10_000, long.MaxValue, CancellationToken.None);

    private string[] Segments() => [.. Directory.GetFiles(LogDirectory, "*.log").Order(StringComparer.Ordinal)];

    private bool AnyLogFileHolds(string text)
    {
        byte[] needle = Encoding.UTF8.GetBytes(text);
        return Directory.GetFiles(LogDirectory, "*.log*").Any(file => File.ReadAllBytes(file).AsSpan().IndexOf(needle) >= 0);
    }

    /// <summary>Sends <paramref name="count"/> messages to bob, each acknowledged in the next commit, as a busy server does.</summary>
    private static async Task TrafficAsync(IMessageStore store, int count, string prefix = "chatter")
    {
        long previous = 0;
        for (int i = 0; i < count; i++)
        {
            CommitResult result = await store.CommitAsync([To("bob", $"{prefix}-{i}-" + new string('x', 100))],
                previous > 0 ? [new InboxAck("bob", "", previous)] : [], CancellationToken.None);
            previous = result.Stored[0].Id;
        }
        await store.CommitAsync([], [new InboxAck("bob", "", previous)], CancellationToken.None);
    }

    [Fact]
    public async Task A_torn_last_write_is_cut_off_and_the_log_goes_on_after_it()
    {
        await using (SqliteMessageStore store = await OpenAsync(segmentBytes: 1 << 20))
        {
            await store.CommitAsync([To("alice", "one"), To("alice", "two")], [], CancellationToken.None);
        }
        // What a crash during the next commit can leave: a frame header claiming more than was written.
        string segment = Assert.Single(Segments());
        long before = new FileInfo(segment).Length;
        await using (FileStream file = new(segment, FileMode.Append))
        {
            file.Write([200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, (byte)'t', (byte)'o', (byte)'r', (byte)'n']);
        }

        await using (SqliteMessageStore reopened = await OpenAsync(segmentBytes: 1 << 20))
        {
            Assert.Equal(before, new FileInfo(segment).Length);
            Assert.Equal(["one", "two"], (await InboxAsync(reopened, "alice")).Select(Text));
            Assert.Equal(3, (await reopened.CommitAsync([To("alice", "three")], [], CancellationToken.None)).Stored[0].Id);
        }
        await using SqliteMessageStore again = await OpenAsync(segmentBytes: 1 << 20);
        Assert.Equal(["one", "two", "three"], (await InboxAsync(again, "alice")).Select(Text));
    }

    [Fact]
    public async Task A_torn_write_before_a_segment_holding_only_its_header_is_still_a_torn_write()
    {
        await using (SqliteMessageStore store = await OpenAsync(segmentBytes: 1 << 20))
        {
            await store.CommitAsync([To("alice", "one")], [], CancellationToken.None);
        }
        // A new segment was started (its header synced) while the last write to the one before was torn.
        string first = Assert.Single(Segments());
        byte[] bytes = File.ReadAllBytes(first);
        File.WriteAllBytes(Path.Combine(LogDirectory, InboxLogSegment.FileName(2)), bytes[..InboxLogFrame.SegmentHeaderBytes]);
        await using (FileStream file = new(first, FileMode.Append))
        {
            file.Write([100, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3]);
        }

        await using SqliteMessageStore reopened = await OpenAsync(segmentBytes: 1 << 20);
        Assert.Equal(bytes.Length, new FileInfo(first).Length);
        Assert.Equal(["one"], (await InboxAsync(reopened, "alice")).Select(Text));
        Assert.Equal(2, (await reopened.CommitAsync([To("alice", "two")], [], CancellationToken.None)).Stored[0].Id);
    }

    [Fact]
    public async Task Damage_followed_by_a_whole_frame_is_not_taken_for_a_torn_write_and_stops_the_open()
    {
        await using (SqliteMessageStore store = await OpenAsync(segmentBytes: 1 << 20))
        {
            await store.CommitAsync([To("alice", "first frame")], [], CancellationToken.None);
            await store.CommitAsync([To("alice", "second frame")], [], CancellationToken.None);
        }
        string segment = Assert.Single(Segments());
        byte[] bytes = File.ReadAllBytes(segment);
        int damaged = bytes.AsSpan().IndexOf("first frame"u8);
        bytes[damaged] ^= 0x20;
        File.WriteAllBytes(segment, bytes);

        InvalidDataException refused = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(segmentBytes: 1 << 20));
        Assert.Contains(Path.GetFileName(segment), refused.Message);
        Assert.Contains("a whole frame follows", refused.Message);
        // Nothing was cut: the operator still has every byte to recover from.
        Assert.Equal(bytes.Length, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task Damage_in_a_segment_before_the_newest_stops_the_open()
    {
        await using (SqliteMessageStore store = await OpenAsync())
        {
            // dave's messages stay undelivered and fill more than a segment, so a closed one is kept.
            for (int i = 0; i < 40; i++)
            {
                await store.CommitAsync([To("dave", $"undelivered-{i}-" + new string('x', 100))], [], CancellationToken.None);
            }
        }
        string[] segments = Segments();
        Assert.True(segments.Length > 1);
        byte[] bytes = File.ReadAllBytes(segments[0]);
        // The first byte of the first frame's payload, after the segment's header and the frame's.
        bytes[InboxLogFrame.SegmentHeaderBytes + InboxLogFrame.HeaderBytes] ^= 0x01;
        File.WriteAllBytes(segments[0], bytes);

        InvalidDataException refused = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync());
        Assert.Contains("not the newest segment", refused.Message);
        Assert.Contains(Path.GetFileName(segments[0]), refused.Message);
    }

    [Fact]
    public async Task Segments_whose_messages_are_all_gone_are_deleted_and_a_checkpoint_leaves_no_acknowledged_body_on_disk()
    {
        await using SqliteMessageStore store = await OpenAsync();
        await store.CommitAsync([To("carol", "MARKER-still-undelivered")], [], CancellationToken.None);
        await TrafficAsync(store, 300, "MARKER-delivered");
        // 300 messages of ~150 bytes fill ~12 segments of 4 KiB; the ones nothing needs went as they filled.
        Assert.InRange(Segments().Length, 1, 4);

        await store.CheckpointAsync(CancellationToken.None);
        await store.Shredded.WithTimeout();

        Assert.False(AnyLogFileHolds("MARKER-delivered"), "an acknowledged body is still in the inbox log's files");
        Assert.Empty(Directory.GetFiles(LogDirectory, "*.dead"));
        Assert.True(AnyLogFileHolds("MARKER-still-undelivered"));
        Assert.Equal(["MARKER-still-undelivered"], (await InboxAsync(store, "carol")).Select(Text));
    }

    [Fact]
    public async Task An_undelivered_message_outlives_compactions_and_reopens_with_its_id_and_ids_go_on_above_every_deleted_one()
    {
        long carolsId;
        await using (SqliteMessageStore store = await OpenAsync())
        {
            carolsId = (await store.CommitAsync([To("carol", "waiting for carol")], [], CancellationToken.None)).Stored[0].Id;
            await TrafficAsync(store, 400);
            // Compaction copied carol's message forward so the old segments could go: the disk stays small.
            Assert.InRange(Segments().Length, 1, 4);
            Assert.Equal(1, store.StoredMessages);
        }
        await using SqliteMessageStore reopened = await OpenAsync();
        StoredMessage carols = Assert.Single(await InboxAsync(reopened, "carol"));
        Assert.Equal((carolsId, "waiting for carol"), (carols.Id, Text(carols)));
        Assert.Empty(await InboxAsync(reopened, "bob"));
        // bob's 400 ids were in segments long deleted; the database kept his head.
        Assert.Equal(401, (await reopened.CommitAsync([To("bob", "next")], [], CancellationToken.None)).Stored[0].Id);
    }

    [Fact]
    public async Task A_second_process_cannot_open_a_log_that_is_open()
    {
        await using SqliteMessageStore store = await OpenAsync();
        string connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath }.ToString();

        // Another process takes its own lock on the log; within this process handles share the log (SharedInboxLogs).
        IOException refused = Assert.Throws<IOException>(() => InboxLog.Open(LogDirectory, SqliteInboxHeadRows.Open(connectionString)));
        Assert.Contains("another server or process has it open", refused.Message);
    }

    [Fact]
    public async Task Messages_an_earlier_version_kept_in_the_database_move_into_the_log_once()
    {
        await using (SqliteMessageStore store = await OpenAsync())
        {
        }
        // The rows as an earlier version left them, beside the head rows it kept.
        await using (SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await using SqliteCommand insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO messages (recipient, sender, created_at, content_type, body, broadcast, seq, recipient_device, sender_device) VALUES
                    ('alice', 'bob', 5, 'text/plain', X'6F6C64206F6E65', 0, 7, '', 'b1'),
                    ('alice', 'bob', 6, 'text/plain', X'6F6C642074776F', 1, 9, 'phone', 'b1');
                INSERT INTO inbox_heads (recipient, last_seq) VALUES ('alice', 12);
                """;
            await insert.ExecuteNonQueryAsync();
        }

        for (int open = 0; open < 2; open++)
        {
            await using SqliteMessageStore store = await OpenAsync();
            IReadOnlyList<StoredMessage> inbox = await store.LoadInboxAsync("alice", "phone", 0, 100, long.MaxValue, CancellationToken.None);
            Assert.Equal([(7L, "old one", false, "", 5L), (9L, "old two", true, "phone", 6L)],
                inbox.Select(m => (m.Id, Text(m), m.Broadcast, m.RecipientDevice, m.Timestamp)));
            Assert.All(inbox, m => Assert.Equal(("bob", "b1", "text/plain"), (m.Sender, m.SenderDevice, m.ContentType)));
        }
        await using (SqliteMessageStore store = await OpenAsync())
        {
            // Ids 10 to 12 were given (and their messages delivered) before the upgrade: the next is above them.
            Assert.Equal(13, (await store.CommitAsync([To("alice", "new")], [], CancellationToken.None)).Stored[0].Id);
        }
        await using SqliteConnection check = new(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        await check.OpenAsync();
        await using SqliteCommand count = check.CreateCommand();
        count.CommandText = "SELECT count(*) FROM messages";
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Expired_and_device_less_messages_are_removed_durably()
    {
        await using (SqliteMessageStore store = await OpenAsync(segmentBytes: 1 << 20))
        {
            await store.CommitAsync([To("alice", "old") with { Timestamp = 10 }, To("alice", "new") with { Timestamp = 1000 },
                To("alice", "for a device that never existed", "ghost")], [], CancellationToken.None);
            Assert.Equal(2, await store.DeleteExpiredAsync(500, CancellationToken.None));
        }
        await using SqliteMessageStore reopened = await OpenAsync(segmentBytes: 1 << 20);
        Assert.Equal(["new"], (await reopened.LoadInboxAsync("alice", "ghost", 0, 100, long.MaxValue, CancellationToken.None)).Select(Text));
    }

    [Fact]
    public async Task The_log_and_every_file_in_it_are_the_owners_alone()
    {
        await using SqliteMessageStore store = await OpenAsync();
        await TrafficAsync(store, 100);
        await store.Shredded.WithTimeout();

        string[] files = Directory.GetFiles(LogDirectory);
        Assert.Contains(files, f => f.EndsWith("lock", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".log", StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(Parley.Transport.Files.OwnerOnly.DirectoryMode, File.GetUnixFileMode(LogDirectory));
            Assert.All(files, f => Assert.Equal(Parley.Transport.Files.OwnerOnly.FileMode, File.GetUnixFileMode(f)));
        }
    }

    [Fact]
    public async Task A_checkpoint_with_nothing_removed_copies_nothing_and_one_after_a_removal_rewrites_the_log()
    {
        await using SqliteMessageStore store = await OpenAsync();
        await store.CommitAsync([To("carol", "first"), To("carol", "second")], [], CancellationToken.None);
        await store.CheckpointAsync(CancellationToken.None);
        string[] before = Segments();

        await store.CheckpointAsync(CancellationToken.None);
        Assert.Equal(before, Segments());

        await store.CommitAsync([], [new InboxAck("carol", "", 1)], CancellationToken.None);
        await store.CheckpointAsync(CancellationToken.None);
        await store.Shredded.WithTimeout();
        Assert.NotEqual(before, Segments());
        Assert.False(AnyLogFileHolds("first"));
        Assert.Equal(["second"], (await InboxAsync(store, "carol")).Select(Text));
    }

    [Fact]
    public async Task A_segment_left_half_made_by_a_crash_is_removed_at_open()
    {
        await using (SqliteMessageStore store = await OpenAsync())
        {
            await store.CommitAsync([To("alice", "kept")], [], CancellationToken.None);
        }
        // What a crash while starting segment 2 leaves: its temporary file, header unwritten.
        File.WriteAllBytes(Path.Combine(LogDirectory, InboxLogSegment.FileName(2) + ".tmp"), new byte[7]);

        await using SqliteMessageStore reopened = await OpenAsync();
        Assert.Empty(Directory.GetFiles(LogDirectory, "*.tmp"));
        Assert.Equal(["kept"], (await InboxAsync(reopened, "alice")).Select(Text));
        await TrafficAsync(reopened, 100);
        Assert.Equal(["kept"], (await InboxAsync(reopened, "alice")).Select(Text));
    }

    [Fact]
    public async Task A_checkpoint_leaves_segments_whose_messages_are_all_live_as_they_are()
    {
        await using SqliteMessageStore store = await OpenAsync();
        // carol's backlog fills a few segments; nothing in them is ever acknowledged.
        for (int i = 0; i < 60; i++)
        {
            await store.CommitAsync([To("carol", $"backlog-{i}-" + new string('x', 100))], [], CancellationToken.None);
        }
        await store.CommitAsync([To("bob", "MARKER-acknowledged")], [], CancellationToken.None);
        await store.CommitAsync([], [new InboxAck("bob", "", 1)], CancellationToken.None);
        await store.CheckpointAsync(CancellationToken.None);
        await store.Shredded.WithTimeout();
        // The closed segments now hold carol's messages only (the active one goes on taking traffic).
        Dictionary<string, byte[]> backlog = Segments()[..^1].ToDictionary(f => f, File.ReadAllBytes);
        Assert.NotEmpty(backlog);

        await TrafficAsync(store, 80);
        await store.CheckpointAsync(CancellationToken.None);
        await store.Shredded.WithTimeout();

        Assert.All(backlog, segment => Assert.Equal(segment.Value, File.ReadAllBytes(segment.Key)));
        Assert.False(AnyLogFileHolds("MARKER-acknowledged"));
        Assert.False(AnyLogFileHolds("chatter"));
        Assert.Equal(60, (await InboxAsync(store, "carol")).Count);
    }

    [Fact]
    public async Task A_checkpoint_cut_short_after_any_of_its_deletions_replays_to_the_same_inbox()
    {
        Dictionary<string, byte[]> before;
        await using (SqliteMessageStore store = await OpenAsync())
        {
            // Segments mixing messages that stay (carol's) and messages acknowledged (bob's, whose removals follow them).
            for (int i = 0; i < 40; i++)
            {
                long bobs = (await store.CommitAsync([To("carol", $"stays-{i}-" + new string('x', 60)), To("bob", $"MARKER-gone-{i}")], [], CancellationToken.None)).Stored[1].Id;
                await store.CommitAsync([], [new InboxAck("bob", "", bobs)], CancellationToken.None);
            }
            before = Segments().ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
            Assert.True(before.Count > 2);
            await store.CheckpointAsync(CancellationToken.None);
        }
        string[] deleted = [.. before.Keys.Where(name => !File.Exists(Path.Combine(LogDirectory, name))).Order(StringComparer.Ordinal)];
        Assert.NotEmpty(deleted);
        string[] after = Segments();

        // The checkpoint deleted its segments oldest first, each rename synced before the next: a
        // crash after the k-th leaves the later ones as they were. Every such state must replay alike.
        for (int k = 0; k <= deleted.Length; k++)
        {
            foreach (string name in deleted.Skip(k))
            {
                File.WriteAllBytes(Path.Combine(LogDirectory, name), before[name]);
            }
            await using (SqliteMessageStore reopened = await OpenAsync())
            {
                Assert.Equal(Enumerable.Range(0, 40).Select(i => $"stays-{i}-" + new string('x', 60)), (await InboxAsync(reopened, "carol")).Select(Text));
                Assert.Empty(await InboxAsync(reopened, "bob"));
            }
            // Put the directory back as the finished checkpoint left it (the open may have compacted nothing; it deletes nothing).
            foreach (string name in deleted.Skip(k))
            {
                File.Delete(Path.Combine(LogDirectory, name));
            }
            Assert.Equal(after, Segments());
        }
    }

    public void Dispose() => _directory.Dispose();
}
