using Parley.Server.Storage;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>
/// IFileStore's contract (PROTOCOL.md §11.8), run against every implementation
/// (SqliteFileStoreContractTests, PostgresFileStoreContractTests): an upload and what it counts
/// against its owner and its recipients; chunks stored only in order, each once, with the count
/// held; completion and the devices awaited, the file gone with the last; the sweep's two expiries;
/// and two handles (two nodes) storing one chunk or finishing one file at the same time.
/// </summary>
public abstract class FileStoreContractTests
{
    /// <summary>Opens a handle on this test's store; every call opens another handle on the same data, as another node would.</summary>
    protected abstract Task<IFileStore> OpenAsync();

    private static string NewFileId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    private static NewUpload Upload(string fileId, long size = 100, int chunkSize = 40, long createdAt = 1000, params string[] recipients) =>
        new(fileId, "alice", "alice-phone", recipients.Length == 0 ? ["bob"] : recipients, size, chunkSize, (size + chunkSize - 1) / chunkSize, createdAt);

    private static byte[] Chunk(int length, byte fill) => [.. Enumerable.Repeat(fill, length)];

    [StoreFact]
    public async Task An_upload_is_found_with_its_recipients_and_counts_against_its_owner_and_each_recipient()
    {
        await using IFileStore store = await OpenAsync();
        string id = NewFileId();
        await store.CreateUploadAsync(Upload(id, size: 100, recipients: ["carol", "bob", "carol"]), CancellationToken.None);
        await store.CreateUploadAsync(Upload(NewFileId(), size: 30, recipients: ["bob"]), CancellationToken.None);

        StoredFile file = (await store.FindAsync(id, CancellationToken.None))!;
        Assert.Equal(new StoredFile(id, "alice", file.Recipients, 100, 40, 3, 0, false, 1000, 1000), file);
        Assert.Equal(["bob", "carol"], file.Recipients);
        Assert.Null(await store.FindAsync(NewFileId(), CancellationToken.None));

        Assert.Equal(new UploadUsage(2, 130), await store.UnfinishedUploadsAsync("alice", CancellationToken.None));
        Assert.Equal(new UploadUsage(0, 0), await store.UnfinishedUploadsAsync("bob", CancellationToken.None));
        // A recipient's quota counts complete files only: not a declared size, nor chunks of an
        // upload in progress (those count against its uploader).
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("alice", "alice", CancellationToken.None));
        Assert.Equal(new WaitingFiles(0, 0), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
        Assert.Equal(1, await store.AppendChunkAsync(id, 0, Chunk(40, 1), 2000, CancellationToken.None));
        Assert.Equal(2, await store.AppendChunkAsync(id, 1, Chunk(40, 2), 2000, CancellationToken.None));
        Assert.Equal(3, await store.AppendChunkAsync(id, 2, Chunk(20, 3), 2000, CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
        await store.CompleteAsync(id, [("bob", "bob-phone"), ("carol", "carol-phone")], FileBounds.None, 3000, CancellationToken.None);
        // Complete, the 100-byte file counts as the least a file counts, for each recipient and from its uploader.
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile, FileCharges.MinimumFile), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile, 0), await store.BytesHeldForAsync("bob", "dave", CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("alice", "alice", CancellationToken.None));
        // Against its uploader: that, and its two recipients.
        Assert.Equal(new WaitingFiles(1, FileCharges.ForUploader(100, 2)), await store.WaitingFilesOfAsync("alice", CancellationToken.None));

        // Another sender's file for carol: in her quota in all, not in alice's share of it.
        string fromDave = NewFileId();
        await store.CreateUploadAsync(new NewUpload(fromDave, "dave", "dave-phone", ["carol"], 70_000, 40_000, 2, 1000), CancellationToken.None);
        await store.AppendChunkAsync(fromDave, 0, Chunk(40_000, 4), 2000, CancellationToken.None);
        await store.AppendChunkAsync(fromDave, 1, Chunk(30_000, 5), 2000, CancellationToken.None);
        await store.CompleteAsync(fromDave, [("carol", "carol-phone")], FileBounds.None, 3000, CancellationToken.None);
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile + 70_000, FileCharges.MinimumFile), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile + 70_000, 70_000), await store.BytesHeldForAsync("carol", "dave", CancellationToken.None));
        Assert.Equal(new WaitingFiles(1, FileCharges.ForUploader(70_000, 1)), await store.WaitingFilesOfAsync("dave", CancellationToken.None));
    }

    [StoreFact]
    public async Task Chunks_are_stored_only_in_order_and_once_and_read_back_as_stored()
    {
        await using IFileStore store = await OpenAsync();
        string id = NewFileId();
        await store.CreateUploadAsync(Upload(id, size: 100), CancellationToken.None);
        byte[] first = Chunk(40, 1), second = Chunk(40, 2), last = Chunk(20, 3);

        Assert.Equal(1, await store.AppendChunkAsync(id, 0, first, 2000, CancellationToken.None));
        // A repeat and a chunk out of order change nothing; the answer is the count held.
        Assert.Equal(1, await store.AppendChunkAsync(id, 0, Chunk(40, 9), 2100, CancellationToken.None));
        Assert.Equal(1, await store.AppendChunkAsync(id, 2, last, 2200, CancellationToken.None));
        Assert.Equal(-1, await store.AppendChunkAsync(NewFileId(), 0, first, 2300, CancellationToken.None));
        Assert.Equal(2, await store.AppendChunkAsync(id, 1, second, 2400, CancellationToken.None));
        Assert.Equal(3, await store.AppendChunkAsync(id, 2, last, 2500, CancellationToken.None));

        StoredFile file = (await store.FindAsync(id, CancellationToken.None))!;
        Assert.Equal((3L, false, 1000L, 2500L), (file.Received, file.Complete, file.CreatedAt, file.LastActivity));
        Assert.Equal(first, await store.ReadChunkAsync(id, 0, CancellationToken.None));
        Assert.Equal(second, await store.ReadChunkAsync(id, 1, CancellationToken.None));
        Assert.Equal(last, await store.ReadChunkAsync(id, 2, CancellationToken.None));
        Assert.Null(await store.ReadChunkAsync(id, 3, CancellationToken.None));
        Assert.Null(await store.ReadChunkAsync(NewFileId(), 0, CancellationToken.None));
    }

    [StoreFact]
    public async Task A_chunk_of_64_KiB_of_every_byte_value_comes_back_exactly()
    {
        await using IFileStore store = await OpenAsync();
        string id = NewFileId();
        byte[] body = [.. Enumerable.Range(0, 64 * 1024).Select(i => unchecked((byte)(i * 7)))];
        await store.CreateUploadAsync(Upload(id, size: body.Length, chunkSize: body.Length), CancellationToken.None);
        Assert.Equal(1, await store.AppendChunkAsync(id, 0, body, 2000, CancellationToken.None));
        Assert.Equal(body, await store.ReadChunkAsync(id, 0, CancellationToken.None));
    }

    [StoreFact]
    public async Task A_complete_file_waits_for_each_awaited_device_and_goes_with_the_last()
    {
        await using IFileStore store = await OpenAsync();
        string id = NewFileId();
        await store.CreateUploadAsync(Upload(id, size: 40, recipients: ["bob", "carol"]), CancellationToken.None);
        await store.AppendChunkAsync(id, 0, Chunk(40, 1), 2000, CancellationToken.None);
        // An unfinished upload awaits no device: a done for it deletes nothing.
        Assert.False(await store.MarkDoneAsync(id, "bob", "bob-phone", CancellationToken.None));
        Assert.Equal(1, (await store.FindAsync(id, CancellationToken.None))!.Received);
        await store.CompleteAsync(id, [("bob", "bob-phone"), ("bob", "bob-laptop"), ("carol", "carol-phone")], FileBounds.None, 3000, CancellationToken.None);

        StoredFile file = (await store.FindAsync(id, CancellationToken.None))!;
        Assert.Equal((true, 3000L), (file.Complete, file.LastActivity));
        // No longer an unfinished upload of its owner, still waiting in its recipients' quota; no chunk is taken any more.
        Assert.Equal(new UploadUsage(0, 0), await store.UnfinishedUploadsAsync("alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile, FileCharges.MinimumFile), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
        Assert.Equal(-1, await store.AppendChunkAsync(id, 1, Chunk(1, 1), 3100, CancellationToken.None));

        Assert.False(await store.MarkDoneAsync(id, "bob", "bob-phone", CancellationToken.None));
        Assert.False(await store.MarkDoneAsync(id, "bob", "bob-phone", CancellationToken.None));
        Assert.False(await store.MarkDoneAsync(id, "mallory", "carol-phone", CancellationToken.None));
        Assert.False(await store.MarkDoneAsync(id, "carol", "carol-phone", CancellationToken.None));
        // Every device of carol's took it: it no longer counts against her quota, while bob's laptop still waits for it.
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile, FileCharges.MinimumFile), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
        Assert.NotNull(await store.ReadChunkAsync(id, 0, CancellationToken.None));
        Assert.True(await store.MarkDoneAsync(id, "bob", "bob-laptop", CancellationToken.None));

        Assert.Null(await store.FindAsync(id, CancellationToken.None));
        Assert.Null(await store.ReadChunkAsync(id, 0, CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
        Assert.Equal(new WaitingFiles(0, 0), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
        Assert.False(await store.MarkDoneAsync(id, "bob", "bob-laptop", CancellationToken.None));
    }

    [StoreFact]
    public async Task The_sweep_deletes_idle_uploads_and_files_past_their_expiry_and_keeps_the_rest()
    {
        await using IFileStore store = await OpenAsync();
        string idle = NewFileId(), busy = NewFileId(), old = NewFileId(), fresh = NewFileId(), oldUnfinished = NewFileId();
        await store.CreateUploadAsync(Upload(idle, createdAt: 5000), CancellationToken.None);
        await store.CreateUploadAsync(Upload(busy, createdAt: 5000), CancellationToken.None);
        await store.AppendChunkAsync(busy, 0, Chunk(40, 1), 9000, CancellationToken.None);
        await store.CreateUploadAsync(Upload(old, size: 40, createdAt: 1000), CancellationToken.None);
        await store.AppendChunkAsync(old, 0, Chunk(40, 1), 9500, CancellationToken.None);
        await store.CompleteAsync(old, [("bob", "bob-phone")], FileBounds.None, 9500, CancellationToken.None);
        await store.CreateUploadAsync(Upload(fresh, size: 40, createdAt: 5000), CancellationToken.None);
        await store.AppendChunkAsync(fresh, 0, Chunk(40, 1), 9500, CancellationToken.None);
        await store.CompleteAsync(fresh, [("bob", "bob-phone")], FileBounds.None, 9500, CancellationToken.None);
        // Unfinished but active: too old all the same.
        await store.CreateUploadAsync(Upload(oldUnfinished, createdAt: 1000), CancellationToken.None);
        await store.AppendChunkAsync(oldUnfinished, 0, Chunk(40, 1), 9800, CancellationToken.None);

        FileSweep sweep = await store.DeleteExpiredAsync(idleBefore: 8000, createdBefore: 2000, CancellationToken.None);
        Assert.Equal(new FileSweep(Abandoned: 2, Expired: 1), sweep);
        foreach (string gone in new[] { idle, old, oldUnfinished })
        {
            Assert.Null(await store.FindAsync(gone, CancellationToken.None));
            Assert.Null(await store.ReadChunkAsync(gone, 0, CancellationToken.None));
        }
        Assert.NotNull(await store.FindAsync(busy, CancellationToken.None));
        Assert.NotNull(await store.ReadChunkAsync(fresh, 0, CancellationToken.None));
        Assert.Equal(new FileSweep(0, 0), await store.DeleteExpiredAsync(8000, 2000, CancellationToken.None));
    }

    /// <summary>
    /// An end that comes after the sweep took the upload (it was looked up just before) completes
    /// nothing and says so, so the server confirms no file that is gone and awaits no device for it.
    /// </summary>
    [StoreFact]
    public async Task Completing_an_upload_the_sweep_took_writes_nothing_and_says_so()
    {
        await using IFileStore store = await OpenAsync();
        string swept = NewFileId();
        await store.CreateUploadAsync(Upload(swept, size: 40, createdAt: 1000), CancellationToken.None);
        await store.AppendChunkAsync(swept, 0, Chunk(40, 1), 1000, CancellationToken.None);
        Assert.Equal(new FileSweep(Abandoned: 1, Expired: 0), await store.DeleteExpiredAsync(idleBefore: 5000, createdBefore: 0, CancellationToken.None));

        Assert.Equal(new FileCompletion(CompletionResult.Gone), await store.CompleteAsync(swept, [("bob", "bob-phone")], FileBounds.None, 6000, CancellationToken.None));
        Assert.Null(await store.FindAsync(swept, CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
        Assert.False(await store.MarkDoneAsync(swept, "bob", "bob-phone", CancellationToken.None));
    }

    [StoreFact]
    public async Task Two_handles_storing_one_chunk_at_once_store_it_once()
    {
        await using IFileStore one = await OpenAsync();
        await using IFileStore two = await OpenAsync();
        string id = NewFileId();
        await one.CreateUploadAsync(Upload(id, size: 400, chunkSize: 40), CancellationToken.None);

        // Every chunk index sent eight times at once, half through each handle.
        for (int index = 0; index < 3; index++)
        {
            int i = index;
            long[] held = await Task.WhenAll(Enumerable.Range(0, 8).Select(n =>
                (n % 2 == 0 ? one : two).AppendChunkAsync(id, i, Chunk(40, (byte)(10 * i + n)), 2000 + n, CancellationToken.None)));
            Assert.All(held, h => Assert.Equal(i + 1, h));
            byte[] stored = (await two.ReadChunkAsync(id, i, CancellationToken.None))!;
            Assert.Contains(stored[0], Enumerable.Range(0, 8).Select(n => (byte)(10 * i + n)));
        }
        Assert.Equal(3, (await one.FindAsync(id, CancellationToken.None))!.Received);
    }

    [StoreFact]
    public async Task Two_handles_finishing_one_file_at_once_delete_it_once()
    {
        await using IFileStore one = await OpenAsync();
        await using IFileStore two = await OpenAsync();
        for (int round = 0; round < 4; round++)
        {
            string id = NewFileId();
            await one.CreateUploadAsync(Upload(id, size: 40), CancellationToken.None);
            await one.AppendChunkAsync(id, 0, Chunk(40, 1), 2000, CancellationToken.None);
            (string User, string Device)[] devices = [.. Enumerable.Range(0, 6).Select(d => ("bob", $"device{d}"))];
            await one.CompleteAsync(id, devices, FileBounds.None, 3000, CancellationToken.None);

            bool[] deleted = await Task.WhenAll(devices.Select((d, i) => (i % 2 == 0 ? one : two).MarkDoneAsync(id, d.User, d.Device, CancellationToken.None)));
            Assert.Single(deleted, d => d);
            Assert.Null(await two.FindAsync(id, CancellationToken.None));
        }
    }

    /// <summary>Makes a complete-ready upload of <paramref name="size"/> bytes in one chunk from <paramref name="owner"/> to <paramref name="recipients"/>.</summary>
    private static async Task<string> ReadyAsync(IFileStore store, string owner, long size, long createdAt = 1000, params string[] recipients)
    {
        string id = NewFileId();
        await store.CreateUploadAsync(new NewUpload(id, owner, owner + "-phone", recipients, size, checked((int)size), 1, createdAt), CancellationToken.None);
        Assert.Equal(1, await store.AppendChunkAsync(id, 0, Chunk(checked((int)size), 7), createdAt, CancellationToken.None));
        return id;
    }

    [StoreFact]
    public async Task A_completion_past_a_bound_is_refused_whole_and_says_which_bound_and_what_is_held()
    {
        await using IFileStore store = await OpenAsync();
        long min = FileCharges.MinimumFile;
        string first = await ReadyAsync(store, "alice", 100, recipients: ["bob", "carol"]);
        Assert.Equal(new FileCompletion(CompletionResult.Completed),
            await store.CompleteAsync(first, [("bob", "bob-phone"), ("carol", "carol-phone")], FileBounds.None, 2000, CancellationToken.None));
        // A repeated end changes nothing, and adds no device that took the file meanwhile.
        Assert.False(await store.MarkDoneAsync(first, "carol", "carol-phone", CancellationToken.None));
        Assert.Equal(new FileCompletion(CompletionResult.AlreadyComplete),
            await store.CompleteAsync(first, [("bob", "bob-phone"), ("carol", "carol-phone")], FileBounds.None, 2100, CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));

        string second = await ReadyAsync(store, "alice", 100, recipients: ["bob", "carol"]);
        long waiting = FileCharges.ForUploader(100, 2);
        (string, string)[] devices = [("bob", "bob-phone"), ("carol", "carol-phone")];
        Assert.Equal(new FileCompletion(CompletionResult.UploaderFull, Held: waiting, Files: 1),
            await store.CompleteAsync(second, devices, new FileBounds(2 * waiting - 1, long.MaxValue, long.MaxValue), 2200, CancellationToken.None));
        Assert.Equal(new FileCompletion(CompletionResult.InboxFull, "bob", min),
            await store.CompleteAsync(second, devices, new FileBounds(2 * waiting, 2 * min - 1, long.MaxValue), 2200, CancellationToken.None));
        // Carol's devices took the first file, so only bob's share is full.
        Assert.Equal(new FileCompletion(CompletionResult.SenderShareFull, "bob", min),
            await store.CompleteAsync(second, devices, new FileBounds(2 * waiting, 2 * min, 2 * min - 1), 2200, CancellationToken.None));

        // Nothing of the refused completions was written: not the file's state, its devices, nor a total.
        Assert.False((await store.FindAsync(second, CancellationToken.None))!.Complete);
        Assert.False(await store.MarkDoneAsync(second, "bob", "bob-phone", CancellationToken.None));
        Assert.Equal(new WaitingFiles(1, waiting), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(min, min), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));

        // Exactly at every bound fits (with bob's tablet now, not his phone).
        Assert.Equal(new FileCompletion(CompletionResult.Completed),
            await store.CompleteAsync(second, [("bob", "bob-tablet"), ("carol", "carol-phone")], new FileBounds(2 * waiting, 2 * min, 2 * min), 2300, CancellationToken.None));
        Assert.Equal(new WaitingFiles(2, 2 * waiting), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(2 * min, 2 * min), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
        // No refused completion left a device behind: bob's phone is not awaited, and carol's phone is the last.
        Assert.False(await store.MarkDoneAsync(second, "bob", "bob-phone", CancellationToken.None));
        Assert.False(await store.MarkDoneAsync(second, "bob", "bob-tablet", CancellationToken.None));
        Assert.True(await store.MarkDoneAsync(second, "carol", "carol-phone", CancellationToken.None));
        // Nor did the repeated end of the first bring back carol's phone: bob's phone is its last device.
        Assert.True(await store.MarkDoneAsync(first, "bob", "bob-phone", CancellationToken.None));
    }

    /// <summary>
    /// The running totals against a model summed from scratch after every step of a random history:
    /// completions (some under bounds tight enough to refuse them, some repeated), devices taking
    /// files (and devices that were never awaited), abandoned uploads, and sweeps, by several senders
    /// to several recipients. A refused completion must leave every total as it was.
    /// </summary>
    [StoreFact]
    public async Task The_running_totals_always_equal_what_the_files_held_sum_to()
    {
        await using IFileStore store = await OpenAsync();
        string[] users = ["ann", "ben", "cat", "dan"];
        Random random = new(1307);
        // The model: each complete file still held, its owner, size, recipients and awaited devices; and the unfinished uploads.
        Dictionary<string, (string Owner, long Size, string[] Recipients, HashSet<(string User, string Device)> Devices, long CreatedAt)> held = [];
        Dictionary<string, long> unfinished = [];
        long now = 10_000;
        long Waiting(string user) => held.Values.Where(f => f.Owner == user).Sum(f => FileCharges.ForUploader(f.Size, f.Recipients.Length));
        long Inbox(string user, string? from = null) =>
            held.Values.Where(f => f.Devices.Any(d => d.User == user) && (from is null || f.Owner == from)).Sum(f => FileCharges.InInbox(f.Size));
        int refused = 0, repeated = 0;
        for (int step = 0; step < 120; step++)
        {
            now += 100;
            int action = random.Next(12);
            if (action < 5 || held.Count == 0)
            {
                string owner = users[random.Next(users.Length)];
                string[] recipients = [.. users.Where(_ => random.Next(2) == 0).DefaultIfEmpty(users[0])];
                long size = random.Next(2) == 0 ? random.Next(16, 2000) : random.Next(70_000, 90_000);
                string id = await ReadyAsync(store, owner, size, now, recipients);
                // Some recipients have no device that can take it (no keys): never counted against them.
                (string, string)[] devices = [.. recipients.Where(r => r != "dan").SelectMany(r => Enumerable.Range(0, random.Next(1, 3)).Select(d => (r, $"{r}-{d}")))];
                string[] charged = [.. devices.Select(d => d.Item1).Distinct()];
                // Half the time, bounds near what the model holds, so some completions are refused.
                FileBounds bounds = random.Next(2) == 0 ? FileBounds.None
                    : new FileBounds(Waiting(owner) + random.Next(0, 300_000), 3 * FileCharges.MinimumFile + random.Next(0, 300_000), 2 * FileCharges.MinimumFile + random.Next(0, 200_000));
                bool fits = Waiting(owner) + FileCharges.ForUploader(size, recipients.Length) <= bounds.WaitingPerUploader
                    && charged.All(u => Inbox(u) + FileCharges.InInbox(size) <= bounds.Inbox && Inbox(u, owner) + FileCharges.InInbox(size) <= bounds.FromOneSender);
                FileCompletion completion = await store.CompleteAsync(id, devices, bounds, now, CancellationToken.None);
                Assert.Equal(fits, completion.Result == CompletionResult.Completed);
                if (fits)
                {
                    held[id] = (owner, size, recipients, [.. devices], now);
                    if (random.Next(3) == 0)
                    {
                        // A repeated end: nothing changes.
                        Assert.Equal(CompletionResult.AlreadyComplete, (await store.CompleteAsync(id, devices, FileBounds.None, now, CancellationToken.None)).Result);
                        repeated++;
                    }
                }
                else
                {
                    // Refused: still an unfinished upload, as the model has it.
                    unfinished[id] = now;
                    refused++;
                }
            }
            else if (action < 9)
            {
                string id = held.Keys.ElementAt(random.Next(held.Count));
                var file = held[id];
                // A device the file never awaited changes nothing.
                Assert.False(await store.MarkDoneAsync(id, file.Recipients[0], "never-awaited", CancellationToken.None));
                if (file.Devices.Count == 0)
                {
                    continue;
                }
                (string user, string device) = file.Devices.ElementAt(random.Next(file.Devices.Count));
                file.Devices.Remove((user, device));
                Assert.Equal(file.Devices.Count == 0, await store.MarkDoneAsync(id, user, device, CancellationToken.None));
                if (file.Devices.Count == 0)
                {
                    held.Remove(id);
                }
            }
            else if (action < 10)
            {
                string owner = users[random.Next(users.Length)];
                string id = NewFileId();
                await store.CreateUploadAsync(new NewUpload(id, owner, owner + "-phone", ["ann"], 5000, 1000, 5, now), CancellationToken.None);
                unfinished[id] = now;
            }
            else
            {
                long idleBefore = now - 500, createdBefore = now - 1500;
                string[] abandoned = [.. unfinished.Where(u => u.Value < idleBefore).Select(u => u.Key)];
                string[] expired = [.. held.Where(f => f.Value.CreatedAt < createdBefore).Select(f => f.Key)];
                Assert.Equal(new FileSweep(abandoned.Length, expired.Length), await store.DeleteExpiredAsync(idleBefore, createdBefore, CancellationToken.None));
                foreach (string id in abandoned)
                {
                    unfinished.Remove(id);
                }
                foreach (string id in expired)
                {
                    held.Remove(id);
                }
            }
            foreach (string user in users)
            {
                Assert.Equal(new WaitingFiles(held.Values.Count(f => f.Owner == user), Waiting(user)), await store.WaitingFilesOfAsync(user, CancellationToken.None));
                foreach (string sender in users)
                {
                    Assert.Equal(new InboxFileUse(Inbox(user), Inbox(user, sender)), await store.BytesHeldForAsync(user, sender, CancellationToken.None));
                }
            }
        }
        // The history went where it should: refusals and repeats happened.
        Assert.True(refused > 0 && repeated > 0, $"{refused} refused, {repeated} repeated");
    }

    /// <summary>Runs <paramref name="sql"/> on the store's database from outside it (as an older version of the server, or an operator, would).</summary>
    protected abstract Task ExecuteAsync(string sql);

    /// <summary>Removes the running totals' tables, as a store written before them had none.</summary>
    private Task DropTotalsAsync() => ExecuteAsync("DROP TABLE file_waiting; DROP TABLE inbox_file_use; DROP TABLE inbox_file_share;");

    [StoreFact]
    public async Task A_store_from_before_the_running_totals_gets_them_summed_from_its_files()
    {
        string fromAlice, fromDave, unfinished;
        await using (IFileStore store = await OpenAsync())
        {
            fromAlice = await ReadyAsync(store, "alice", 100, recipients: ["bob", "carol"]);
            await store.CompleteAsync(fromAlice, [("bob", "bob-phone"), ("bob", "bob-laptop"), ("carol", "carol-phone")], FileBounds.None, 2000, CancellationToken.None);
            await store.MarkDoneAsync(fromAlice, "carol", "carol-phone", CancellationToken.None);
            fromDave = await ReadyAsync(store, "dave", 80_000, recipients: ["bob"]);
            await store.CompleteAsync(fromDave, [("bob", "bob-phone")], FileBounds.None, 2000, CancellationToken.None);
            unfinished = await ReadyAsync(store, "alice", 500, recipients: ["bob"]);
        }
        await DropTotalsAsync();

        await using (IFileStore store = await OpenAsync())
        {
            Assert.Equal(new WaitingFiles(1, FileCharges.ForUploader(100, 2)), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
            Assert.Equal(new WaitingFiles(1, FileCharges.ForUploader(80_000, 1)), await store.WaitingFilesOfAsync("dave", CancellationToken.None));
            Assert.Equal(new InboxFileUse(FileCharges.MinimumFile + 80_000, FileCharges.MinimumFile), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
            Assert.Equal(new InboxFileUse(0, 0), await store.BytesHeldForAsync("carol", "alice", CancellationToken.None));
            // And kept from there on.
            Assert.True(await store.MarkDoneAsync(fromDave, "bob", "bob-phone", CancellationToken.None));
            Assert.Equal(new InboxFileUse(FileCharges.MinimumFile, FileCharges.MinimumFile), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
            Assert.Equal(new WaitingFiles(0, 0), await store.WaitingFilesOfAsync("dave", CancellationToken.None));
        }
        // Opened again, the totals are not summed a second time: a total changed by hand stays as it is.
        await ExecuteAsync("UPDATE file_waiting SET charged = 12345 WHERE owner = 'alice'");
        await using (IFileStore store = await OpenAsync())
        {
            Assert.Equal(new WaitingFiles(1, 12345), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
        }
    }

    /// <summary>
    /// Two handles (two nodes) completing files for one recipient at once: each file fits alone,
    /// only four fit together, and exactly four complete, whichever handle ends them.
    /// </summary>
    [StoreFact]
    public async Task Two_handles_completing_at_once_pass_a_recipients_bound_only_as_far_as_it_goes()
    {
        await using IFileStore one = await OpenAsync();
        await using IFileStore two = await OpenAsync();
        string[] senders = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];
        List<string> ids = [];
        foreach (string sender in senders)
        {
            ids.Add(await ReadyAsync(one, sender, 100, recipients: ["bob"]));
        }
        FileBounds bounds = new(long.MaxValue, 4 * FileCharges.MinimumFile, long.MaxValue);
        FileCompletion[] results = await Task.WhenAll(ids.Select((id, i) =>
            (i % 2 == 0 ? one : two).CompleteAsync(id, [("bob", "bob-phone")], bounds, 3000, CancellationToken.None)));

        Assert.Equal(4, results.Count(r => r.Result == CompletionResult.Completed));
        Assert.All(results.Where(r => r.Result != CompletionResult.Completed), r => Assert.Equal(CompletionResult.InboxFull, r.Result));
        Assert.Equal(new InboxFileUse(4 * FileCharges.MinimumFile, 0), await two.BytesHeldForAsync("bob", "nobody", CancellationToken.None));
        int complete = 0;
        foreach (string id in ids)
        {
            complete += (await two.FindAsync(id, CancellationToken.None))!.Complete ? 1 : 0;
        }
        Assert.Equal(4, complete);
    }

    /// <summary>
    /// Twelve begins of one account through two handles (two nodes) at once, where four fit: four are
    /// created, the rest refused with what was held, and a refused begin leaves nothing. The bound
    /// used to be counted per node, so each node let four through. The bytes bound refuses too, and
    /// another account is not held up by it.
    /// </summary>
    [StoreFact]
    public async Task Two_handles_beginning_at_once_pass_an_accounts_bound_of_unfinished_uploads_only_as_far_as_it_goes()
    {
        await using IFileStore one = await OpenAsync();
        await using IFileStore two = await OpenAsync();
        UploadLimits limits = new(4, 1_000);
        string[] ids = [.. Enumerable.Range(0, 12).Select(_ => NewFileId())];
        UploadUsage?[] results = await Task.WhenAll(ids.Select((id, i) =>
            (i % 2 == 0 ? one : two).TryCreateUploadAsync(Upload(id, size: 100), limits, CancellationToken.None)));

        Assert.Equal(4, results.Count(r => r is null));
        Assert.All(results.Where(r => r is not null), r => Assert.Equal(new UploadUsage(4, 400), r));
        Assert.Equal(new UploadUsage(4, 400), await one.UnfinishedUploadsAsync("alice", CancellationToken.None));
        int found = 0;
        foreach (string id in ids)
        {
            found += await two.FindAsync(id, CancellationToken.None) is null ? 0 : 1;
        }
        Assert.Equal(4, found);

        // Bytes: 700 more do not fit beside the 400 held; 600 do, as a fifth upload would not under a count of 5.
        Assert.Equal(new UploadUsage(4, 400), await one.TryCreateUploadAsync(Upload(NewFileId(), size: 700), new UploadLimits(5, 1_000), CancellationToken.None));
        Assert.Null(await two.TryCreateUploadAsync(Upload(NewFileId(), size: 600), new UploadLimits(5, 1_000), CancellationToken.None));
        Assert.Null(await one.TryCreateUploadAsync(new NewUpload(NewFileId(), "carol", "carol-phone", ["bob"], 100, 40, 3, 1000), limits, CancellationToken.None));
    }

    [StoreFact]
    public async Task A_sweep_of_more_files_than_one_batch_deletes_them_all_and_their_totals()
    {
        await using IFileStore store = await OpenAsync();
        for (int i = 0; i < 150; i++)
        {
            string id = await ReadyAsync(store, "alice", 40, createdAt: 1000, recipients: ["bob"]);
            if (i % 3 != 0)
            {
                await store.CompleteAsync(id, [("bob", "bob-phone")], FileBounds.None, 1000, CancellationToken.None);
            }
        }
        string kept = await ReadyAsync(store, "alice", 40, createdAt: 5000, recipients: ["bob"]);
        await store.CompleteAsync(kept, [("bob", "bob-phone")], FileBounds.None, 5000, CancellationToken.None);

        Assert.Equal(new FileSweep(Abandoned: 50, Expired: 100), await store.DeleteExpiredAsync(idleBefore: 0, createdBefore: 2000, CancellationToken.None));
        Assert.Equal(new WaitingFiles(1, FileCharges.ForUploader(40, 1)), await store.WaitingFilesOfAsync("alice", CancellationToken.None));
        Assert.Equal(new InboxFileUse(FileCharges.MinimumFile, FileCharges.MinimumFile), await store.BytesHeldForAsync("bob", "alice", CancellationToken.None));
        Assert.NotNull(await store.FindAsync(kept, CancellationToken.None));
    }
}
