using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>
/// The server's file requests played by an attacker (PROTOCOL.md §11.4, §11.8): every resource an
/// upload or a download can make the server hold is bounded, refused with its own code, and the
/// session goes on.
/// </summary>
public class FileBoundsTests
{
    private const int Chunk = 1040;

    /// <summary>A user whose device published end-to-end keys: the device a file waits for, so the file counts against that user's quota.</summary>
    private static async Task<ChatClient> RecipientAsync(TestServer server, string user) => (await E2eTestDevice.ConnectAsync(server, user)).Client;

    private static async Task<ChatException> Refused(Func<Task> request) => await Assert.ThrowsAsync<ChatException>(request).WithTimeout();

    /// <summary>Sends raw chunks, then ends the upload: the end's answer comes after any refusal of a chunk (one reader, one outbox, in order).</summary>
    private static async Task<(ChatException? Chunk, ChatException? End)> SendChunksAsync(ChatClient client, string fileId, params (long Index, int Length)[] chunks)
    {
        using UploadChannel upload = client.OpenUpload(fileId);
        foreach ((long index, int length) in chunks)
        {
            await upload.SendAsync(index, new byte[length], CancellationToken.None);
        }
        ChatException? end = null;
        try
        {
            await client.EndUploadAsync(fileId).WithTimeout();
        }
        catch (ChatException e)
        {
            end = e;
        }
        try
        {
            upload.ThrowIfFailed();
            return (null, end);
        }
        catch (ChatException e)
        {
            return (e, end);
        }
    }

    [Fact]
    public async Task A_file_over_the_size_limit_is_refused_and_one_at_the_limit_is_taken()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxFileBytes = 10_000, MaxUnfinishedUploadBytesPerAccount = 100_000, MaxInboxFileBytes = 100_000 });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        // 10 chunks of 1,040 ciphertext bytes carry 10 × 1,024 plaintext bytes: 10,240 > 10,000.
        Assert.Equal(ErrorCodes.FileTooLarge, (await Refused(() => alice.BeginUploadAsync(["bob"], 10 * Chunk, Chunk))).Code);
        FileUploadState ok = await alice.BeginUploadAsync(["bob"], 10_000 + 10 * 16, Chunk).WithTimeout();
        Assert.Equal((0L, 10L), (ok.Received, ok.ChunkCount));
    }

    /// <summary>
    /// A declared size near the largest number is file_too_large and the session goes on (found by
    /// review: counting its chunks overflowed, and the exception ended the connection with an error
    /// and a stack trace in the log, at the client's will).
    /// </summary>
    [Fact]
    public async Task The_largest_declared_size_is_too_large_and_the_session_goes_on()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        foreach (long size in new[] { long.MaxValue, long.MaxValue - 1, long.MaxValue - Chunk + 2 })
        {
            Assert.Equal(ErrorCodes.FileTooLarge, (await Refused(() => alice.BeginUploadAsync(["bob"], size, Chunk))).Code);
        }
        Assert.Equal(["alice", "bob"], await alice.ListAsync().WithTimeout());
    }

    [Fact]
    public async Task Tiny_chunks_are_refused_and_a_begin_pays_before_its_names_are_looked_up()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessagesPerSecond = 0.001, SenderMessageBurst = 3, MaxBroadcastRecipients = 3 });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        // One byte of plaintext a chunk would make a row and a write per byte of the quota.
        Assert.Equal(ErrorCodes.BadRequest, (await Refused(() => alice.BeginUploadAsync(["bob"], 100 * 17, 17))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await Refused(() => alice.BeginUploadAsync(["bob"], 100 * Chunk, MessengerLimits.MinFileChunkSize - 1))).Code);
        // Naming an unknown user does not make the look-ups free: each try pays, and the budget runs out.
        string[] names = ["bob", .. Enumerable.Range(0, 200).Select(i => $"nobody{i}")];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(ErrorCodes.UnknownRecipient, (await Refused(() => alice.BeginUploadAsync(names, 10 * Chunk, Chunk))).Code);
        }
        Assert.Equal(ErrorCodes.RateLimited, (await Refused(() => alice.BeginUploadAsync(names, 10 * Chunk, Chunk))).Code);
    }

    [Fact]
    public async Task Unfinished_uploads_are_bounded_per_account_in_number_and_in_bytes()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            MaxFileBytes = 100_000, MaxUnfinishedUploadsPerAccount = 3, MaxUnfinishedUploadBytesPerAccount = 250_000,
        });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        for (int i = 0; i < 3; i++)
        {
            await alice.BeginUploadAsync(["bob"], 50_000, Chunk).WithTimeout();
        }
        Assert.Equal(ErrorCodes.TooManyUploads, (await Refused(() => alice.BeginUploadAsync(["bob"], 20_000, Chunk))).Code);

        await using ChatClient carol = await RecipientAsync(server, "carol");
        await carol.BeginUploadAsync(["bob"], 100_000, Chunk).WithTimeout();
        await carol.BeginUploadAsync(["bob"], 100_000, Chunk).WithTimeout();
        Assert.Equal(ErrorCodes.TooManyUploads, (await Refused(() => carol.BeginUploadAsync(["bob"], 60_000, Chunk))).Code);
        // The session goes on: a smaller one still fits.
        await carol.BeginUploadAsync(["bob"], 40_000, Chunk).WithTimeout();
    }

    /// <summary>The chunks of an upload of <paramref name="size"/> bytes in chunks of <see cref="Chunk"/>, from <paramref name="from"/>.</summary>
    private static (long Index, int Length)[] ChunksOf(long size, long from = 0)
    {
        long count = (size + Chunk - 1) / Chunk;
        return [.. Enumerable.Range((int)from, (int)(count - from)).Select(i => ((long)i, (int)Math.Min(Chunk, size - (long)i * Chunk)))];
    }

    [Fact]
    public async Task Files_held_for_a_recipient_count_against_its_inbox_file_quota()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxFileBytes = 60_000, MaxInboxFileBytes = 100_000 });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient carol = await RecipientAsync(server, "carol");
        await using ChatClient alice = await server.LoginAsync("alice");
        FileUploadState first = await alice.BeginUploadAsync(["bob"], 60_000, Chunk).WithTimeout();
        Assert.Equal((null, null), await SendChunksAsync(alice, first.FileId, ChunksOf(60_000)));

        ChatException full = await Refused(() => alice.BeginUploadAsync(["bob", "carol"], 50_000, Chunk));
        Assert.Equal(ErrorCodes.InboxFull, full.Code);
        Assert.Contains("bob", full.Message, StringComparison.Ordinal);
        await alice.BeginUploadAsync(["carol"], 50_000, Chunk).WithTimeout();
    }

    [Fact]
    public async Task Uploads_that_never_send_their_chunks_hold_nothing_of_their_recipients_file_quota()
    {
        // Mallory declares four uploads to bob of nearly his whole quota each, and sends nothing:
        // a size only declared must not shut bob's file inbox to everyone else until they expire.
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            MaxFileBytes = 100_000, MaxInboxFileBytes = 100_000, MaxUnfinishedUploadBytesPerAccount = 1_000_000,
        });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await using ChatClient alice = await server.LoginAsync("alice");
        for (int i = 0; i < 4; i++)
        {
            await mallory.BeginUploadAsync(["bob"], 95_000, Chunk).WithTimeout();
        }

        FileUploadState upload = await alice.BeginUploadAsync(["bob"], 95_000, Chunk).WithTimeout();
        Assert.Equal((null, null), await SendChunksAsync(alice, upload.FileId, ChunksOf(95_000)));
        Assert.True((await alice.UploadStateAsync(upload.FileId).WithTimeout()).Complete);
    }

    [Fact]
    public async Task A_file_that_no_longer_fits_when_it_ends_is_kept_and_ends_once_there_is_room()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxFileBytes = 60_000, MaxInboxFileBytes = 100_000 });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        // Both fit when they begin (nothing is held yet); together they do not.
        FileUploadState first = await alice.BeginUploadAsync(["bob"], 60_000, Chunk).WithTimeout();
        FileUploadState second = await alice.BeginUploadAsync(["bob"], 60_000, Chunk).WithTimeout();
        Assert.Equal((null, null), await SendChunksAsync(alice, first.FileId, ChunksOf(60_000)));

        // Every chunk of the second is taken (they count against alice's own bounds), but its end is refused.
        (ChatException? chunkRefused, ChatException? endRefused) = await SendChunksAsync(alice, second.FileId, ChunksOf(60_000));
        Assert.Null(chunkRefused);
        Assert.Equal(ErrorCodes.InboxFull, endRefused?.Code);
        Assert.Contains("'bob'", endRefused!.Message, StringComparison.Ordinal);
        FileUploadState kept = await alice.UploadStateAsync(second.FileId).WithTimeout();
        Assert.Equal((kept.ChunkCount, false), (kept.Received, kept.Complete));

        // Bob takes the first file: it is deleted, and the second ends as it is.
        await bob.FileDoneAsync(first.FileId).WithTimeout();
        await alice.EndUploadAsync(second.FileId).WithTimeout();
        Assert.True((await alice.UploadStateAsync(second.FileId).WithTimeout()).Complete);
    }

    [Fact]
    public async Task An_end_refused_for_a_full_inbox_and_sent_again_and_again_pays_each_time_until_the_budget_runs_out()
    {
        // Each end looks up every recipient's quota under the node's admission lock: a loop of ends
        // that are refused must cost the sender as a loop of sends would.
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            MaxFileBytes = 60_000, MaxInboxFileBytes = 100_000, SenderMessagesPerSecond = 0.001, SenderMessageBurst = 5, MaxBroadcastRecipients = 5,
        });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        FileUploadState first = await alice.BeginUploadAsync(["bob"], 60_000, Chunk).WithTimeout();     // 1
        FileUploadState second = await alice.BeginUploadAsync(["bob"], 60_000, Chunk).WithTimeout();    // 2
        Assert.Equal((null, null), await SendChunksAsync(alice, first.FileId, ChunksOf(60_000)));        // 3 (its end)
        (_, ChatException? full) = await SendChunksAsync(alice, second.FileId, ChunksOf(60_000));         // 4
        Assert.Equal(ErrorCodes.InboxFull, full?.Code);
        Assert.Equal(ErrorCodes.InboxFull, (await Refused(() => alice.EndUploadAsync(second.FileId))).Code);  // 5
        Assert.Equal(ErrorCodes.RateLimited, (await Refused(() => alice.EndUploadAsync(second.FileId))).Code);
    }

    [Fact]
    public async Task Chunks_out_of_place_of_the_wrong_length_or_past_the_end_are_refused_and_a_repeat_is_ignored()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        // Three chunks: 1,040 + 1,040 + 100 bytes.
        FileUploadState upload = await alice.BeginUploadAsync(["bob"], 2 * Chunk + 100, Chunk).WithTimeout();

        (ChatException? gap, ChatException? incomplete) = await SendChunksAsync(alice, upload.FileId, (0, Chunk), (2, 100));
        Assert.Equal(ErrorCodes.BadRequest, gap?.Code);
        Assert.Equal(ErrorCodes.FileIncomplete, incomplete?.Code);
        Assert.Equal(1, (await alice.UploadStateAsync(upload.FileId).WithTimeout()).Received);

        (ChatException? length, _) = await SendChunksAsync(alice, upload.FileId, (1, Chunk - 1));
        Assert.Equal(ErrorCodes.BadRequest, length?.Code);
        (ChatException? pastEnd, _) = await SendChunksAsync(alice, upload.FileId, (3, 100));
        Assert.Equal(ErrorCodes.BadRequest, pastEnd?.Code);
        (ChatException? negative, _) = await SendChunksAsync(alice, upload.FileId, (-1, Chunk));
        Assert.Equal(ErrorCodes.BadRequest, negative?.Code);

        (ChatException? repeat, ChatException? end) = await SendChunksAsync(alice, upload.FileId, (0, Chunk), (1, Chunk), (2, 100));
        Assert.Null(repeat);
        Assert.Null(end);
        FileUploadState done = await alice.UploadStateAsync(upload.FileId).WithTimeout();
        Assert.Equal((3L, true), (done.Received, done.Complete));
        (ChatException? afterEnd, _) = await SendChunksAsync(alice, upload.FileId, (2, 100));
        Assert.Equal(ErrorCodes.BadRequest, afterEnd?.Code);
    }

    [Fact]
    public async Task A_file_you_are_not_a_recipient_of_gets_the_same_answer_as_a_missing_one()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await using ChatClient alice = await server.LoginAsync("alice");
        FileUploadState upload = await alice.BeginUploadAsync(["bob"], 100, Chunk).WithTimeout();

        // Before it is complete, even bob may not read it.
        ChatException early = await Refused(() => Drain(bob, upload.FileId, 0, 1));
        Assert.Equal(ErrorCodes.UnknownFile, early.Code);
        await SendChunksAsync(alice, upload.FileId, (0, 100));

        ChatException notYours = await Refused(() => Drain(mallory, upload.FileId, 0, 1));
        ChatException missing = await Refused(() => Drain(mallory, new string('a', 32), 0, 1));
        ChatException malformed = await Refused(() => Drain(mallory, "../../etc/passwd", 0, 1));
        Assert.All(new[] { notYours, missing, malformed }, e => Assert.Equal((ErrorCodes.UnknownFile, missing.Message), (e.Code, e.Message)));
        // Nor may anyone else learn where an upload stands, take it up or mark it done.
        Assert.Equal(ErrorCodes.UnknownFile, (await Refused(() => mallory.UploadStateAsync(upload.FileId))).Code);
        Assert.Equal(ErrorCodes.UnknownFile, (await Refused(() => mallory.FileDoneAsync(upload.FileId))).Code);
        Assert.Equal(ErrorCodes.UnknownFile, (await Refused(() => mallory.EndUploadAsync(upload.FileId))).Code);
        // The uploader is not a recipient either: its file is not its to download.
        Assert.Equal(ErrorCodes.UnknownFile, (await Refused(() => Drain(alice, upload.FileId, 0, 1))).Code);
        Assert.Single(await Collect(bob, upload.FileId, 0, 1));
    }

    [Fact]
    public async Task A_download_window_is_1_to_32_chunks_from_inside_the_file()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        FileUploadState upload = await alice.BeginUploadAsync(["bob"], 40 * Chunk, Chunk).WithTimeout();
        await SendChunksAsync(alice, upload.FileId, [.. Enumerable.Range(0, 40).Select(i => ((long)i, Chunk))]);

        Assert.Equal(ErrorCodes.BadRequest, (await Refused(() => Drain(bob, upload.FileId, 0, MessengerLimits.MaxDownloadWindow + 1))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await Refused(() => Drain(bob, upload.FileId, 0, 0))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await Refused(() => Drain(bob, upload.FileId, 40, 1))).Code);
        List<FileData> window = await Collect(bob, upload.FileId, 30, 32);
        Assert.Equal(Enumerable.Range(30, 10).Select(i => (long)i), window.Select(d => d.Index));
        Assert.True(window[^1].Last);
    }

    [Fact]
    public async Task A_downloader_that_stops_reading_holds_at_most_four_chunks_on_the_server_and_others_are_served()
    {
        await using TestServer server = await TestServer.StartAsync();
        TaskCompletionSource unblock = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ChatClient bob = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        TaskCompletionSource stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.MessageHandler = async _ =>
        {
            // Bob's reader stops here: from now on nothing he is sent is read off the socket.
            stalled.TrySetResult();
            await unblock.Task;
        };
        Assert.True((await bob.LoginAsync("bob", "correct horse", null).WithTimeout()).Success);
        Assert.True(server.Server.Presence.TryGet("bob", out Parley.Server.Delivery.ClientConnection connection));
        await using ChatClient alice = await server.LoginAsync("alice");
        const int Big = 60 * 1024;
        FileUploadState upload = await alice.BeginUploadAsync(["bob"], 32L * Big, Big).WithTimeout();
        await SendChunksAsync(alice, upload.FileId, [.. Enumerable.Range(0, 32).Select(i => ((long)i, Big))]);
        await alice.SendTextAsync("bob", "stop reading").WithTimeout();
        await stalled.Task.WithTimeout();

        // 40 windows of 32 chunks of 60 KiB: 75 MiB asked for, far more than the socket buffers hold.
        List<IAsyncEnumerator<FileData>> downloads = [];
        for (int i = 0; i < 40; i++)
        {
            IAsyncEnumerator<FileData> download = bob.DownloadAsync(upload.FileId, 0, 32).GetAsyncEnumerator();
            _ = download.MoveNextAsync();
            downloads.Add(download);
        }
        using (CancellationTokenSource deadline = new(TestTimeouts.Event))
        {
            while (connection.FileChunksQueued < Parley.Server.Delivery.FileService.ChunksInOutbox)
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        await using (ChatClient carol = await server.LoginAsync("carol"))
        {
            Assert.Contains("bob", await carol.ListAsync().WithTimeout());
        }
        Assert.Equal(Parley.Server.Delivery.FileService.ChunksInOutbox, connection.PeakFileChunksQueued);
        unblock.SetResult();
        await bob.DisposeAsync();
    }

    /// <summary>
    /// A store that fails while it reads a chunk (files.db's chunk table dropped under the running
    /// server) answers each download with internal, and gives the connection's download slot back:
    /// twice as many failed downloads as it has slots do not stall it, and it still serves.
    /// </summary>
    [Fact]
    public async Task Store_errors_while_reading_chunks_give_every_download_slot_back()
    {
        await using TestServer server = await TestServer.StartAsync();
        server.ExpectErrorsContaining = "no such table: file_chunks";
        await using ChatClient bob = await server.LoginAsync("bob");
        Assert.True(server.Server.Presence.TryGet("bob", out Parley.Server.Delivery.ClientConnection connection));
        await using ChatClient alice = await server.LoginAsync("alice");
        string fileId = (await alice.BeginUploadAsync(["bob"], 100, Chunk).WithTimeout()).FileId;
        Assert.Equal((null, null), await SendChunksAsync(alice, fileId, (0, 100)));
        Assert.Single(await Collect(bob, fileId, 0, 1));

        await using (Microsoft.Data.Sqlite.SqliteConnection files = new($"Data Source={Path.Combine(server.DataDirectory, "data", "files.db")};Pooling=False"))
        {
            await files.OpenAsync();
            await using Microsoft.Data.Sqlite.SqliteCommand drop = files.CreateCommand();
            drop.CommandText = "DROP TABLE file_chunks";
            await drop.ExecuteNonQueryAsync();
        }
        for (int i = 0; i < 2 * Parley.Server.Delivery.FileService.ChunksInOutbox; i++)
        {
            Assert.Equal(ErrorCodes.Internal, (await Refused(() => Drain(bob, fileId, 0, 1))).Code);
        }
        Assert.Equal(0, connection.FileChunksQueued);
        Assert.Contains("alice", await bob.ListAsync().WithTimeout());
    }

    /// <summary>
    /// A peer that stops reading (its outbox full) while it begins uploads: the answers to its
    /// begins wait for room, but not under the node's admission lock, so another user's begin
    /// goes through at once.
    /// </summary>
    [Fact]
    public async Task A_peer_that_stops_reading_does_not_hold_anyone_elses_upload_begin()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { OutboxCapacity = 16 });
        TaskCompletionSource unblock = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ChatClient sloth = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        sloth.MessageHandler = async _ => await unblock.Task;
        Assert.True((await sloth.LoginAsync("sloth", "correct horse", null).WithTimeout()).Success);
        Assert.True(server.Server.Presence.TryGet("sloth", out Parley.Server.Delivery.ClientConnection connection));
        await using ChatClient flood = await server.LoginAsync("flood");
        string big = new('x', 60_000);
        using (CancellationTokenSource deadline = new(TestTimeouts.Event))
        {
            // Until the sloth's outbox is full: its socket buffers first, then the outbox itself.
            while (connection.OutboxCount < 16)
            {
                await flood.SendTextAsync("sloth", big).WaitAsync(deadline.Token);
            }
        }
        Task<FileUploadState> slothBegin = sloth.BeginUploadAsync(["flood"], 2048, Chunk);
        FileStoreProbe files = new(server);
        using (CancellationTokenSource deadline = new(TestTimeouts.Event))
        {
            // Its upload is made: its answer is now waiting for room in the full outbox.
            while ((await files.UnfinishedAsync("sloth")).Uploads == 0)
            {
                await Task.Delay(20, deadline.Token);
            }
        }

        await using ChatClient alice = await server.LoginAsync("alice");
        await using ChatClient bob = await server.LoginAsync("bob");
        FileUploadState aliceUpload = await alice.BeginUploadAsync(["bob"], 2048, Chunk).WithTimeout();
        Assert.Equal(0, aliceUpload.Received);
        Assert.False(slothBegin.IsCompleted);
        unblock.SetResult();
        Assert.Equal(0, (await slothBegin.WithTimeout()).Received);
        await sloth.DisposeAsync();
    }

    /// <summary>The server's file store, read as the server sees it.</summary>
    private sealed class FileStoreProbe(TestServer server)
    {
        public Task<Parley.Server.Storage.UploadUsage> UnfinishedAsync(string user) =>
            server.Server.Maintenance.Files!.UnfinishedUploadsAsync(user, CancellationToken.None);
    }

    [Fact]
    public async Task Below_the_disk_watermark_no_upload_starts()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MinFreeDiskBytes = long.MaxValue });
        server.ExpectWarnings = true;
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        Assert.Equal(ErrorCodes.StorageFull, (await Refused(() => alice.BeginUploadAsync(["bob"], 5000, Chunk))).Code);
    }

    [Fact]
    public async Task Abandoned_uploads_and_files_nobody_took_are_deleted_by_the_sweep()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = clock, SweepInterval = TimeSpan.FromHours(1) });
        string abandoned, stored;
        await using (ChatClient bob = await server.LoginAsync("bob"))
        await using (ChatClient alice = await server.LoginAsync("alice"))
        {
            abandoned = (await alice.BeginUploadAsync(["bob"], 3 * Chunk, Chunk).WithTimeout()).FileId;
            await SendChunksAsync(alice, abandoned, (0, Chunk));
            stored = (await alice.BeginUploadAsync(["bob"], 100, Chunk).WithTimeout()).FileId;
            await SendChunksAsync(alice, stored, (0, 100));
        }

        // Each step logs in afresh: connections silent for hours of the manual clock are closed by the keep-alive.
        await AdvanceAndSweepAsync(server, clock, TimeSpan.FromHours(25));
        await using (ChatClient alice = await server.LoginAsync("alice"))
        {
            Assert.Equal(ErrorCodes.UnknownFile, (await Refused(() => alice.UploadStateAsync(abandoned))).Code);
            Assert.True((await alice.UploadStateAsync(stored).WithTimeout()).Complete);
        }

        await AdvanceAndSweepAsync(server, clock, TimeSpan.FromDays(30));
        await using (ChatClient bob = await server.LoginAsync("bob"))
        {
            Assert.Equal(ErrorCodes.UnknownFile, (await Refused(() => Drain(bob, stored, 0, 1))).Code);
        }
    }

    private static async Task AdvanceAndSweepAsync(TestServer server, ManualClock clock, TimeSpan by)
    {
        Task swept = server.Server.Maintenance.NextSweep;
        clock.Advance(by);
        await swept.WithTimeout();
    }

    private static async Task Drain(ChatClient client, string fileId, long from, int count) => await Collect(client, fileId, from, count);

    private static async Task<List<FileData>> Collect(ChatClient client, string fileId, long from, int count)
    {
        List<FileData> chunks = [];
        await foreach (FileData data in client.DownloadAsync(fileId, from, count).WithCancellation(new CancellationTokenSource(TestTimeouts.Event).Token))
        {
            chunks.Add(data);
        }
        return chunks;
    }

    /// <summary>
    /// Tiny files to many recipients cost the server rows, not bytes: each counts against its
    /// uploader at least 64 KiB plus 4 KiB a recipient, so a flood of them stops at the uploader's
    /// bound (too_many_uploads) while they wait for their recipients.
    /// </summary>
    [Fact]
    public async Task A_flood_of_tiny_files_to_many_recipients_stops_at_the_uploaders_bound()
    {
        long perFile = Parley.Server.Storage.FileCharges.ForUploader(16, 2);
        // The least the bound may be: one largest file (10,000 bytes here) for 256 recipients; 16 tiny files to two fit in it.
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxFileBytes = 10_000, MaxWaitingFileBytesPerUploader = 16 * perFile });
        await using ChatClient bob = await RecipientAsync(server, "bob");
        await using ChatClient carol = await RecipientAsync(server, "carol");
        await using ChatClient mallory = await server.LoginAsync("mallory");
        for (int i = 0; i < 16; i++)
        {
            FileUploadState tiny = await mallory.BeginUploadAsync(["bob", "carol"], 16, Chunk).WithTimeout();
            Assert.Equal((null, null), await SendChunksAsync(mallory, tiny.FileId, (0, 16)));
        }
        ChatException refused = await Refused(() => mallory.BeginUploadAsync(["bob", "carol"], 16, Chunk));
        Assert.Equal(ErrorCodes.TooManyUploads, refused.Code);
        Assert.Contains("16 files waiting for their recipients", refused.Message, StringComparison.Ordinal);
        // The bound is mallory's own: others still send to the same people.
        FileUploadState fromBob = await bob.BeginUploadAsync(["carol"], 16, Chunk).WithTimeout();
        Assert.Equal((null, null), await SendChunksAsync(bob, fromBob.FileId, (0, 16)));
    }

    /// <summary>One sender may fill only its share of someone's file quota: a stranger cannot shut anyone's file inbox alone.</summary>
    [Fact]
    public async Task One_sender_holds_at_most_its_share_of_a_recipients_file_quota()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            MaxFileBytes = 100_000, MaxInboxFileBytes = 400_000, MaxInboxFileBytesFromOneSender = 200_000,
        });
        await using ChatClient victim = await RecipientAsync(server, "victim");
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await using ChatClient friend = await server.LoginAsync("friend");
        for (int i = 0; i < 2; i++)
        {
            FileUploadState upload = await mallory.BeginUploadAsync(["victim"], 95_000, Chunk).WithTimeout();
            Assert.Equal((null, null), await SendChunksAsync(mallory, upload.FileId, ChunksOf(95_000)));
        }
        ChatException refused = await Refused(() => mallory.BeginUploadAsync(["victim"], 95_000, Chunk));
        Assert.Equal(ErrorCodes.InboxFull, refused.Code);
        Assert.Contains("one sender may hold at most 200000", refused.Message, StringComparison.Ordinal);
        // The victim's quota has room for everyone else.
        FileUploadState fromFriend = await friend.BeginUploadAsync(["victim"], 95_000, Chunk).WithTimeout();
        Assert.Equal((null, null), await SendChunksAsync(friend, fromFriend.FileId, ChunksOf(95_000)));
    }
}
