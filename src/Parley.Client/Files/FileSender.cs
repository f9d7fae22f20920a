// Sends one file: encrypts it chunk by chunk with a fresh key (PROTOCOL.md §15) while reading it
// in fixed buffers, and uploads the chunks (§11.8) from where the server says it stopped. Nothing
// but one plaintext chunk and one ciphertext chunk is held, whatever the file's size. The offer it
// returns is what the caller sends end to end; the journal entry stays until that is done.
using System.Security.Cryptography;
using Parley.EndToEnd.Files;
using Parley.Messaging;

namespace Parley.Client.Files;

public sealed class FileSender(ChatClient client, UploadJournal journal)
{
    /// <summary>Times an upload is taken up again after the server said it lacks chunks, before giving up.</summary>
    private const int MaxRounds = 3;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Plaintext bytes per chunk (tests use smaller ones to get many chunks from a small file).</summary>
    public int ChunkSize { get; init; } = FileLayout.DefaultChunkSize;

    /// <summary>Keeps the upload at or under a rate (null: as fast as the connection goes).</summary>
    public TransferPacer? Pacer { get; init; }

    /// <summary>
    /// Uploads <paramref name="path"/> for <paramref name="to"/>, going on with an earlier upload of the
    /// same file to the same users when the journal has one and the file is unchanged.
    /// </summary>
    /// <exception cref="ChatException">The server refused (file_too_large, too_many_uploads, inbox_full, storage_full …).</exception>
    /// <param name="group">The group the file is for (its offer goes as a group message), or null.</param>
    public async Task<UploadEntry> UploadAsync(string path, IReadOnlyCollection<string> to, string contentType, IProgress<FileProgress>? progress,
        CancellationToken cancellationToken = default, string? group = null)
    {
        string fullPath = Path.GetFullPath(path);
        long size = new FileInfo(fullPath).Length;
        byte[] hash = await UploadJournal.HashFileAsync(fullPath, cancellationToken).ConfigureAwait(false);
        UploadEntry? entry = journal.Find(fullPath, to);
        FileUploadState? state = null;
        if (entry is not null)
        {
            // Only an unchanged file goes on under the same key: a chunk index is never encrypted twice with other contents.
            if (entry.Size == size && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(entry.Sha256), hash))
            {
                state = await StateOrNullAsync(entry.FileId, cancellationToken).ConfigureAwait(false);
            }
            if (state is null)
            {
                journal.Remove(entry.FileId);
                entry = null;
            }
        }
        if (entry is null || state is null)
        {
            FileLayout layout = new(size, ChunkSize);
            using FileKey key = FileKey.Generate();
            state = await client.BeginUploadAsync(to, layout.CiphertextSize, ChunkSize + FileChunkCipher.TagSize, cancellationToken).ConfigureAwait(false);
            byte[] keyBytes = key.Export();
            entry = new UploadEntry(state.FileId, fullPath, [.. to], size, ChunkSize, Convert.ToHexStringLower(keyBytes), Convert.ToHexStringLower(hash),
                Path.GetFileName(fullPath), contentType, Time.GetUtcNow().ToUnixTimeMilliseconds()) { Group = group };
            CryptographicOperations.ZeroMemory(keyBytes);
            journal.Save(entry);
        }
        await ContinueAsync(entry, state, progress, cancellationToken).ConfigureAwait(false);
        return entry;
    }

    /// <summary>Takes up an upload from the journal (after a restart): re-checks the file, sends what the server lacks, ends it.</summary>
    public async Task<UploadEntry?> ResumeAsync(UploadEntry entry, IProgress<FileProgress>? progress, CancellationToken cancellationToken = default)
    {
        byte[] hash = File.Exists(entry.Path) && new FileInfo(entry.Path).Length == entry.Size
            ? await UploadJournal.HashFileAsync(entry.Path, cancellationToken).ConfigureAwait(false)
            : [];
        if (!CryptographicOperations.FixedTimeEquals(Convert.FromHexString(entry.Sha256), hash))
        {
            journal.Remove(entry.FileId);
            return null;
        }
        FileUploadState? state = await StateOrNullAsync(entry.FileId, cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            journal.Remove(entry.FileId);
            return null;
        }
        await ContinueAsync(entry, state, progress, cancellationToken).ConfigureAwait(false);
        return entry;
    }

    /// <summary>The offer for a finished upload (the caller sends it end to end, then removes the entry).</summary>
    public static FileOffer OfferFor(UploadEntry entry)
    {
        FileId.TryParse(entry.FileId, out FileId id);
        byte[] key = Convert.FromHexString(entry.Key);
        try
        {
            return new FileOffer(id, new FileLayout(entry.Size, entry.ChunkSize), FileKey.Import(key), Convert.FromHexString(entry.Sha256), entry.Name, entry.ContentType);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private async Task<FileUploadState?> StateOrNullAsync(string fileId, CancellationToken cancellationToken)
    {
        try
        {
            return await client.UploadStateAsync(fileId, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatException e) when (e.Code == ErrorCodes.UnknownFile)
        {
            // Expired or deleted on the server: start again.
            return null;
        }
    }

    private async Task ContinueAsync(UploadEntry entry, FileUploadState state, IProgress<FileProgress>? progress, CancellationToken cancellationToken)
    {
        FileId.TryParse(entry.FileId, out FileId id);
        FileLayout layout = new(entry.Size, entry.ChunkSize);
        long startedAt = Time.GetTimestamp();
        for (int round = 0; !state.Complete; round++)
        {
            if (state.Received < layout.ChunkCount)
            {
                await SendChunksAsync(entry, id, layout, state.Received, progress, startedAt, cancellationToken).ConfigureAwait(false);
            }
            try
            {
                await client.EndUploadAsync(entry.FileId, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ChatException e) when (e.Code == ErrorCodes.FileIncomplete && round < MaxRounds)
            {
                state = await client.UploadStateAsync(entry.FileId, cancellationToken).ConfigureAwait(false);
                // Chunks are about to be encrypted again under the same key and index: only the very same
                // content may be (§15.1), so a file changed since it was fingerprinted starts afresh.
                byte[] hash = File.Exists(entry.Path) && new FileInfo(entry.Path).Length == entry.Size
                    ? await UploadJournal.HashFileAsync(entry.Path, cancellationToken).ConfigureAwait(false)
                    : [];
                if (!CryptographicOperations.FixedTimeEquals(Convert.FromHexString(entry.Sha256), hash))
                {
                    journal.Remove(entry.FileId);
                    throw new ChatException(ErrorCodes.FileIncomplete, $"{entry.Name} changed while it was being sent; nothing more of it was sent, send it again");
                }
            }
        }
        progress?.Report(new FileProgress(entry.Size, entry.Size, startedAt));
    }

    private async Task SendChunksAsync(UploadEntry entry, FileId id, FileLayout layout, long from, IProgress<FileProgress>? progress, long startedAt,
        CancellationToken cancellationToken)
    {
        byte[] keyBytes = Convert.FromHexString(entry.Key);
        using FileKey key = FileKey.Import(keyBytes);
        CryptographicOperations.ZeroMemory(keyBytes);
        using FileChunkCipher cipher = new(key, id, layout);
        byte[] plaintext = new byte[layout.ChunkSize];
        byte[] fullChunk = new byte[layout.ChunkSize + FileChunkCipher.TagSize];
        try
        {
            await using FileStream stream = new(entry.Path, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, Options = FileOptions.SequentialScan,
            });
            stream.Seek(layout.Offset(from), SeekOrigin.Begin);
            using UploadChannel upload = client.OpenUpload(entry.FileId);
            for (long index = from; index < layout.ChunkCount; index++)
            {
                // Stopping happens between chunks: a write cancelled halfway would abort the socket and
                // lose chunks already sent but not yet read by the server.
                cancellationToken.ThrowIfCancellationRequested();
                int length = layout.PlaintextLength(index);
                await stream.ReadExactlyAsync(plaintext.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                byte[] body = length == layout.ChunkSize ? fullChunk : new byte[length + FileChunkCipher.TagSize];
                cipher.Encrypt(index, plaintext.AsSpan(0, length), body);
                if (Pacer is not null)
                {
                    await Pacer.WaitAsync(body.Length, cancellationToken).ConfigureAwait(false);
                }
                await upload.SendAsync(index, body, CancellationToken.None).ConfigureAwait(false);
                progress?.Report(new FileProgress(layout.Offset(index) + length, layout.Size, startedAt));
            }
            upload.ThrowIfFailed();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
