// Files from a logged-in connection (PROTOCOL.md §11.8): uploads in order, chunk by chunk,
// straight into the file store (nothing but the record in hand is held); downloads a window at a
// time, each chunk read from the store only when the outbox has room for it, so a connection
// holds at most FileService.ChunksInOutbox chunks whatever it asks for. A file that does not
// exist and one the asker may not see get the same answer, unknown_file.
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public sealed partial class ClientConnection
{
    /// <summary>Set by the connection handler when the server keeps files; null answers every file request with <c>bad_request</c>.</summary>
    internal FileService? Files { get; init; }

    // Created by the first file chunk: a connection that sends no file holds no semaphore.
    private SemaphoreSlim? _fileChunkSlotsGate;

    private SemaphoreSlim FileChunkSlots =>
        _fileChunkSlotsGate ?? Interlocked.CompareExchange(ref _fileChunkSlotsGate, new SemaphoreSlim(FileService.ChunksInOutbox, FileService.ChunksInOutbox), null) ?? _fileChunkSlotsGate;

    private int _peakFileChunksQueued;

    /// <summary>Called by the writer loop once a <see cref="FileData"/> has gone out: the next chunk may be read.</summary>
    private void FileChunkSent() => FileChunkSlots.Release();

    /// <summary>File chunks read for this connection and not sent yet (at most <see cref="FileService.ChunksInOutbox"/>).</summary>
    internal int FileChunksQueued => _fileChunkSlotsGate is { } slots ? FileService.ChunksInOutbox - slots.CurrentCount : 0;

    /// <summary>The most <see cref="FileChunksQueued"/> has ever been (tests check it against the bound).</summary>
    internal int PeakFileChunksQueued => Volatile.Read(ref _peakFileChunksQueued);

    private void RecordFileChunkQueued()
    {
        int queued = FileChunksQueued;
        int peak = Volatile.Read(ref _peakFileChunksQueued);
        while (queued > peak && Interlocked.CompareExchange(ref _peakFileChunksQueued, queued, peak) != peak)
        {
            peak = Volatile.Read(ref _peakFileChunksQueued);
        }
    }

    private async Task<bool> HandleFileAsync(ClientMessage request, CancellationToken cancellationToken)
    {
        long reference = request switch
        {
            FileUploadBeginRequest r => r.Ref,
            FileChunkRequest r => r.Ref,
            FileUploadEndRequest r => r.Ref,
            FileDownloadRequest r => r.Ref,
            FileDoneRequest r => r.Ref,
            _ => -1,
        };
        if (reference == -1)
        {
            return false;
        }
        if (Files is null)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.BadRequest, "this server keeps no files")).ConfigureAwait(false);
            return true;
        }
        await AnswerStoreFailureAsync(reference, "handling a file", () => request switch
        {
            FileUploadBeginRequest begin => BeginUploadAsync(Files, begin, cancellationToken),
            FileChunkRequest chunk => StoreChunkAsync(Files, chunk, cancellationToken),
            FileUploadEndRequest end => EndUploadAsync(Files, end, cancellationToken),
            FileDownloadRequest download => DownloadAsync(Files, download, cancellationToken),
            FileDoneRequest done => FileDoneAsync(Files, done, cancellationToken),
            _ => Task.CompletedTask,
        }).ConfigureAwait(false);
        return true;
    }

    private Task UnknownFileAsync(long reference) =>
        ReplyAsync(new ErrorMessage(reference, ErrorCodes.UnknownFile, "there is no such file for you")).AsTask();

    private async Task BeginUploadAsync(FileService files, FileUploadBeginRequest begin, CancellationToken cancellationToken)
    {
        if (begin.FileId is not null)
        {
            // Resuming: only the uploader learns where its upload stands.
            StoredFile? existing = IsFileId(begin.FileId) ? await files.Store.FindAsync(begin.FileId, cancellationToken).ConfigureAwait(false) : null;
            if (existing is null || existing.Owner != User)
            {
                await UnknownFileAsync(begin.Ref).ConfigureAwait(false);
                return;
            }
            await ReplyAsync(new FileUploadState(begin.Ref, existing.FileId, existing.Received, existing.ChunkCount, existing.Complete)).ConfigureAwait(false);
            return;
        }
        if (begin.To is not { Length: > 0 and <= MessengerLimits.MaxFileRecipients } || begin.ChunkSize < MessengerLimits.MinFileChunkSize
            || begin.ChunkSize > _options.MaxBodyLength || begin.Size < 16)
        {
            await ReplyAsync(new ErrorMessage(begin.Ref, ErrorCodes.BadRequest,
                $"an upload names 1 to {MessengerLimits.MaxFileRecipients} recipients, a size of at least 16 bytes and a chunk size of " +
                $"{MessengerLimits.MinFileChunkSize} to {_options.MaxBodyLength} bytes")).ConfigureAwait(false);
            return;
        }
        long chunkCount = FileService.ChunkCountFor(begin.Size, begin.ChunkSize);
        long plaintext = FileService.PlaintextSize(begin.Size, chunkCount);
        if (plaintext > _options.MaxFileBytes || plaintext < 0)
        {
            await ReplyAsync(new ErrorMessage(begin.Ref, ErrorCodes.FileTooLarge,
                $"the file is {Math.Max(plaintext, 0)} bytes; this server takes files of at most {_options.MaxFileBytes} bytes")).ConfigureAwait(false);
            return;
        }
        // A begin is a write like a message: it costs one from the sender's budget before any of its
        // names is looked up, refused or not (its chunks are bounded by the quotas instead). The size
        // is checked first (§11.8's order): a file too large is said so, whatever the budget.
        if (!await CheckCapacityAsync(begin.Ref, 1, 0).ConfigureAwait(false))
        {
            return;
        }
        SortedSet<string> recipients = new(StringComparer.Ordinal);
        foreach (string? name in begin.To)
        {
            if (!Usernames.TryNormalize(name ?? "", out string user, out string nameError))
            {
                await ReplyAsync(new ErrorMessage(begin.Ref, ErrorCodes.InvalidUsername, nameError)).ConfigureAwait(false);
                return;
            }
            if (!await _accounts.ExistsAsync(user, cancellationToken).ConfigureAwait(false))
            {
                await ReplyAsync(new ErrorMessage(begin.Ref, ErrorCodes.UnknownRecipient, $"there is no user '{user}'")).ConfigureAwait(false);
                return;
            }
            recipients.Add(user);
        }
        // The bounds of complete files, as things stand: an early answer (the store checks them
        // again where a file counts, at its end), so not under the admission lock.
        if (await FilesDoNotFitAsync(files, begin.Ref, [.. recipients], begin.Size, "; the file was not accepted", cancellationToken).ConfigureAwait(false) is { } refused)
        {
            await ReplyAsync(refused).ConfigureAwait(false);
            return;
        }
        // The count of unfinished uploads and the insert are one step in the store, for every node
        // of a shared one: two begins of one account, on one node or two, cannot both pass the bound.
        string fileId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        UploadUsage? refusedBy = await files.Store.TryCreateUploadAsync(new NewUpload(fileId, User, DeviceId, [.. recipients], begin.Size, begin.ChunkSize, chunkCount, now),
            new UploadLimits(_options.MaxUnfinishedUploadsPerAccount, _options.MaxUnfinishedUploadBytesPerAccount), cancellationToken).ConfigureAwait(false);
        await ReplyAsync(refusedBy is UploadUsage usage
            ? new ErrorMessage(begin.Ref, ErrorCodes.TooManyUploads,
                $"you have {usage.Uploads} unfinished uploads of {usage.Bytes} bytes; at most {_options.MaxUnfinishedUploadsPerAccount} " +
                $"of {_options.MaxUnfinishedUploadBytesPerAccount} bytes in all (finish one, or wait for it to expire)")
            : new FileUploadState(begin.Ref, fileId, 0, chunkCount, false)).ConfigureAwait(false);
    }

    private async Task StoreChunkAsync(FileService files, FileChunkRequest chunk, CancellationToken cancellationToken)
    {
        StoredFile? file = IsFileId(chunk.FileId) ? await files.Store.FindAsync(chunk.FileId, cancellationToken).ConfigureAwait(false) : null;
        if (file is null || file.Owner != User)
        {
            await UnknownFileAsync(chunk.Ref).ConfigureAwait(false);
            return;
        }
        if (file.Complete || chunk.Index < 0 || chunk.Index >= file.ChunkCount || chunk.Index > file.Received)
        {
            await ReplyAsync(new ErrorMessage(chunk.Ref, ErrorCodes.BadRequest,
                $"chunk {chunk.Index} is out of place: the upload holds {file.Received} of {file.ChunkCount} chunks{(file.Complete ? " and is complete" : "")}; send chunk {file.Received} next")).ConfigureAwait(false);
            return;
        }
        if (chunk.Index < file.Received)
        {
            // A repeat after a lost connection: already held, nothing to do.
            return;
        }
        long expected = chunk.Index == file.ChunkCount - 1 ? file.Size - (file.ChunkCount - 1) * file.ChunkSize : file.ChunkSize;
        if (chunk.Body is null || chunk.Body.Length != expected)
        {
            await ReplyAsync(new ErrorMessage(chunk.Ref, ErrorCodes.BadRequest, $"chunk {chunk.Index} must be {expected} bytes")).ConfigureAwait(false);
            return;
        }
        if (_diskSpace.IsLow)
        {
            await ReplyAsync(new ErrorMessage(chunk.Ref, ErrorCodes.StorageFull,
                "the server is low on disk space and takes no file chunks; resume the upload later")).ConfigureAwait(false);
            return;
        }
        await files.Store.AppendChunkAsync(file.FileId, chunk.Index, chunk.Body, _options.Time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
    }

    private FileBounds FileBoundsOf() => new(_options.MaxWaitingFileBytesPerUploader, _options.MaxInboxFileBytes, _options.MaxInboxFileBytesFromOneSender);

    /// <summary>
    /// The refusal, if a file of <paramref name="size"/> ciphertext bytes for <paramref name="recipients"/>
    /// would pass a bound as things stand: the uploader's files waiting for their recipients
    /// (too_many_uploads), each recipient's file quota, and the part of it one sender may take
    /// (inbox_full), so no stranger can fill someone's file inbox alone. A begin is told early;
    /// the store checks again when the file completes, where it counts.
    /// </summary>
    private async Task<ErrorMessage?> FilesDoNotFitAsync(FileService files, long reference, IReadOnlyList<string> recipients, long size, string what,
        CancellationToken cancellationToken)
    {
        FileBounds bounds = FileBoundsOf();
        WaitingFiles waiting = await files.Store.WaitingFilesOfAsync(User, cancellationToken).ConfigureAwait(false);
        if (waiting.Charged + FileCharges.ForUploader(size, recipients.Count) > bounds.WaitingPerUploader)
        {
            return Refusal(reference, new FileCompletion(CompletionResult.UploaderFull, Held: waiting.Charged, Files: waiting.Files), size, recipients.Count, what);
        }
        long charge = FileCharges.InInbox(size);
        foreach (string recipient in recipients)
        {
            InboxFileUse use = await files.Store.BytesHeldForAsync(recipient, User, cancellationToken).ConfigureAwait(false);
            if (use.All + charge > bounds.Inbox)
            {
                return Refusal(reference, new FileCompletion(CompletionResult.InboxFull, recipient, use.All), size, recipients.Count, what);
            }
            if (use.FromUploader + charge > bounds.FromOneSender)
            {
                return Refusal(reference, new FileCompletion(CompletionResult.SenderShareFull, recipient, use.FromUploader), size, recipients.Count, what);
            }
        }
        return null;
    }

    /// <summary>Which file bound a file does not fit, and what it holds.</summary>
    private ErrorMessage Refusal(long reference, FileCompletion refused, long size, int recipients, string what) => refused.Result switch
    {
        CompletionResult.UploaderFull => new ErrorMessage(reference, ErrorCodes.TooManyUploads,
            $"you have {refused.Files} files waiting for their recipients, counted as {refused.Held} bytes (each at least " +
            $"{FileCharges.MinimumFile} plus {FileCharges.PerRecipient} a recipient; this one {FileCharges.ForUploader(size, recipients)}); " +
            $"at most {_options.MaxWaitingFileBytesPerUploader} until they are taken or expire" + what),
        CompletionResult.InboxFull => new ErrorMessage(reference, ErrorCodes.InboxFull,
            $"the inbox of '{refused.Recipient}' is full of files ({refused.Held} bytes held, at most {_options.MaxInboxFileBytes})" + what),
        _ => new ErrorMessage(reference, ErrorCodes.InboxFull,
            $"your files waiting for '{refused.Recipient}' hold {refused.Held} bytes of their inbox; one sender may hold at most {_options.MaxInboxFileBytesFromOneSender}" + what),
    };

    private async Task EndUploadAsync(FileService files, FileUploadEndRequest end, CancellationToken cancellationToken)
    {
        StoredFile? file = IsFileId(end.FileId) ? await files.Store.FindAsync(end.FileId, cancellationToken).ConfigureAwait(false) : null;
        if (file is null || file.Owner != User)
        {
            await UnknownFileAsync(end.Ref).ConfigureAwait(false);
            return;
        }
        if (!file.Complete && file.Received != file.ChunkCount)
        {
            await ReplyAsync(new ErrorMessage(end.Ref, ErrorCodes.FileIncomplete,
                $"the server holds {file.Received} of {file.ChunkCount} chunks; send chunk {file.Received} next")).ConfigureAwait(false);
            return;
        }
        // Reading every recipient's devices costs one from the sender's budget, so repeating the end
        // of a completed upload (allowed: its answer may have been lost) is not a free loop of reads.
        if (!await CheckCapacityAsync(end.Ref, 1, 0).ConfigureAwait(false))
        {
            return;
        }
        List<(string User, string Device)> devices = [];
        foreach (string recipient in file.Recipients)
        {
            // The devices that can read the offer (they published end-to-end keys); the sender's own device is not waited for.
            foreach (string device in await _store.KeyedDevicesAsync(recipient, cancellationToken).ConfigureAwait(false))
            {
                if (recipient != User || device != DeviceId)
                {
                    devices.Add((recipient, device));
                }
            }
        }
        if (!file.Complete)
        {
            // Only complete files count against a recipient's quota, so this is where the file
            // must fit. The store checks the bounds in the transaction that counts the file, so two
            // uploads that each fitted when they began cannot both complete past one (on one node or
            // two). The chunks stay when it does not fit; the end can be sent again once there is room.
            FileCompletion completion = await files.Store.CompleteAsync(file.FileId, devices, FileBoundsOf(), _options.Time.GetUtcNow().ToUnixTimeMilliseconds(),
                cancellationToken).ConfigureAwait(false);
            if (completion.Result == CompletionResult.Gone)
            {
                // The sweep took the upload between the look-up and now: nothing was committed, so nothing is confirmed.
                await UnknownFileAsync(end.Ref).ConfigureAwait(false);
                return;
            }
            if (!completion.IsComplete)
            {
                await ReplyAsync(Refusal(end.Ref, completion, file.Size, file.Recipients.Count, "; the upload is kept: end it again once there is room")).ConfigureAwait(false);
                return;
            }
        }
        await ReplyAsync(new FileUploaded(end.Ref, file.FileId, devices.Count)).ConfigureAwait(false);
    }

    private async Task DownloadAsync(FileService files, FileDownloadRequest download, CancellationToken cancellationToken)
    {
        StoredFile? file = IsFileId(download.FileId) ? await files.Store.FindAsync(download.FileId, cancellationToken).ConfigureAwait(false) : null;
        if (file is null || !file.Complete || !file.Recipients.Contains(User, StringComparer.Ordinal))
        {
            await UnknownFileAsync(download.Ref).ConfigureAwait(false);
            return;
        }
        if (download.Count is < 1 or > MessengerLimits.MaxDownloadWindow || download.FromChunk < 0 || download.FromChunk >= file.ChunkCount)
        {
            await ReplyAsync(new ErrorMessage(download.Ref, ErrorCodes.BadRequest,
                $"a download asks for 1 to {MessengerLimits.MaxDownloadWindow} chunks from one of 0 to {file.ChunkCount - 1}")).ConfigureAwait(false);
            return;
        }
        long end = Math.Min(file.ChunkCount, download.FromChunk + download.Count);
        for (long index = download.FromChunk; index < end; index++)
        {
            // Read only when the outbox has room: the writer frees a slot once the chunk is sent.
            await FileChunkSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
            RecordFileChunkQueued();
            byte[]? body;
            try
            {
                body = await files.Store.ReadChunkAsync(file.FileId, index, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Nothing was queued: the slot goes back, or a few store errors would stall this connection's downloads for good.
                FileChunkSlots.Release();
                throw;
            }
            if (body is null)
            {
                // Deleted meanwhile (every device took it, or it expired).
                FileChunkSlots.Release();
                await UnknownFileAsync(download.Ref).ConfigureAwait(false);
                return;
            }
            await ReplyAsync(new FileData(download.Ref, file.FileId, index, body, index == file.ChunkCount - 1, file.ChunkCount)).ConfigureAwait(false);
        }
    }

    private async Task FileDoneAsync(FileService files, FileDoneRequest done, CancellationToken cancellationToken)
    {
        StoredFile? file = IsFileId(done.FileId) ? await files.Store.FindAsync(done.FileId, cancellationToken).ConfigureAwait(false) : null;
        if (file is null || !file.Complete || !file.Recipients.Contains(User, StringComparer.Ordinal))
        {
            await UnknownFileAsync(done.Ref).ConfigureAwait(false);
            return;
        }
        bool deleted = await files.Store.MarkDoneAsync(file.FileId, User, DeviceId, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            files.Logger.LogDebug("File {FileId} was taken by every device it waited for and is deleted", file.FileId);
        }
        await ReplyAsync(new FileDoneResult(done.Ref, file.FileId, deleted)).ConfigureAwait(false);
    }

    private static bool IsFileId(string? id) => id is { Length: 32 } && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
