// Receives one offered file: downloads its chunks a window at a time (PROTOCOL.md §11.8), checks
// and decrypts each (§15) and appends the plaintext to DEST.part, so the .part file only ever
// holds verified chunks and a download goes on from its last whole chunk after a lost connection
// or a restart. At the end the SHA-256 of the whole file must equal the offer's, else the .part is
// deleted; then it is renamed to DEST, never over an existing file, and the server is told.
using System.Security.Cryptography;
using Parley.EndToEnd;
using Parley.EndToEnd.Files;
using Parley.Messaging;
using Parley.Transport.Files;

namespace Parley.Client.Files;

public sealed class FileReceiver(ChatClient client)
{
    /// <summary>Chunks asked for at once (at most <see cref="MessengerLimits.MaxDownloadWindow"/>).</summary>
    public int Window { get; init; } = MessengerLimits.MaxDownloadWindow;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Keeps the download at or under a rate (null: as fast as the connection goes).</summary>
    public TransferPacer? Pacer { get; init; }

    public static string PartPath(string destination) => destination + ".part";

    /// <exception cref="E2eProtocolException">A chunk did not authenticate (tampered, swapped, truncated): nothing of it was written.</exception>
    /// <exception cref="FileVerificationException">The whole file's hash is wrong: the .part was deleted.</exception>
    /// <exception cref="IOException"><paramref name="destination"/> exists already.</exception>
    public async Task ReceiveAsync(FileOffer offer, string destination, IProgress<FileProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offer);
        if (File.Exists(destination))
        {
            throw new IOException($"{destination} exists already; it is not overwritten");
        }
        FileLayout layout = offer.Layout;
        string part = PartPath(destination);
        // Opened to resume it, a partial file that is a link would truncate and write whatever it points at.
        if (new FileInfo(part).LinkTarget is not null)
        {
            throw new IOException($"{part} is a symbolic link; it is not followed");
        }
        long startedAt = Time.GetTimestamp();
        byte[] plaintext = new byte[layout.ChunkSize];
        try
        {
            await using (FileStream stream = OwnerOnly.OpenWrite(part, FileMode.OpenOrCreate))
            {
                // Only whole chunks count; a torn last write is cut off and fetched again.
                long next = Math.Min(stream.Length / layout.ChunkSize, layout.ChunkCount);
                if (stream.Length >= layout.Size && layout.Size > 0)
                {
                    next = layout.ChunkCount;
                }
                stream.SetLength(Math.Min(next * layout.ChunkSize, layout.Size));
                stream.Seek(0, SeekOrigin.End);
                using FileChunkCipher cipher = new(offer.Key, offer.FileId, layout);
                while (next < layout.ChunkCount)
                {
                    await foreach (FileData data in client.DownloadAsync(offer.FileId.ToString(), next, Window, cancellationToken).ConfigureAwait(false))
                    {
                        if (data.Index != next)
                        {
                            throw new E2eProtocolException(E2eError.DecryptionFailed, $"the server sent chunk {data.Index} where chunk {next} belongs");
                        }
                        int length = cipher.Decrypt(data.Index, data.Body, plaintext);
                        await stream.WriteAsync(plaintext.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                        next++;
                        progress?.Report(new FileProgress(Math.Min(next * layout.ChunkSize, layout.Size), layout.Size, startedAt));
                        if (Pacer is not null)
                        {
                            await Pacer.WaitAsync(data.Body.Length, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            byte[] hash = await UploadJournal.HashFileAsync(part, cancellationToken).ConfigureAwait(false);
            if (!CryptographicOperations.FixedTimeEquals(hash, offer.Sha256))
            {
                File.Delete(part);
                throw new FileVerificationException("the received file's SHA-256 is not the one the sender announced; it was deleted");
            }
            File.Move(part, destination, overwrite: false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
        progress?.Report(new FileProgress(layout.Size, layout.Size, startedAt));
        try
        {
            await client.FileDoneAsync(offer.FileId.ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (ChatException e) when (e.Code == ErrorCodes.UnknownFile)
        {
            // Already gone from the server (taken by every device, or expired): we have it anyway.
        }
    }
}
