// The sender's record of its unfinished uploads (one sealed row each in the device database,
// SealedFileRecords), so an upload goes on where the server says it stopped after a lost connection
// or a restart of `parley chat`. It holds the file's key and the SHA-256 of the plaintext taken
// before the first chunk: a resumed upload re-reads the file and goes on only if it is unchanged,
// so no chunk index is ever encrypted twice with different contents under one key (PROTOCOL.md §15).
using System.Security.Cryptography;
using System.Text.Json;

namespace Parley.Client.Files;

public sealed record UploadEntry(string FileId, string Path, string[] To, long Size, int ChunkSize, string Key, string Sha256, string Name,
    string ContentType, long StartedAt, bool OfferSent = false)
{
    /// <summary>A file for a group: <see cref="To"/> are its members (then), and the offer goes as one group message.</summary>
    public string? Group { get; init; }
}

public sealed class UploadJournal(SealedFileRecords records)
{
    /// <summary>Unfinished uploads remembered at most; the oldest is forgotten beyond it (the server expires it too).</summary>
    public const int MaxEntries = 32;

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The unfinished uploads, oldest first; a record that does not parse is dropped.</summary>
    public IReadOnlyList<UploadEntry> Entries()
    {
        List<UploadEntry> entries = [];
        foreach ((string fileId, byte[] value) in records.All(FileRecordKind.Upload))
        {
            try
            {
                if (Parse(value) is { } entry && entry.FileId == fileId)
                {
                    entries.Add(entry);
                }
                else
                {
                    records.Remove(FileRecordKind.Upload, fileId);
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(value);
            }
        }
        return [.. entries.OrderBy(e => e.StartedAt)];
    }

    /// <summary>The entry a record holds, or null when it is not one (an old or damaged record).</summary>
    internal static UploadEntry? Parse(byte[] value)
    {
        try
        {
            return JsonSerializer.Deserialize<UploadEntry>(value, s_json) is { } entry && Parley.EndToEnd.Files.FileId.TryParse(entry.FileId, out _) ? entry : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The unfinished upload of this file to these users, if there is one.</summary>
    public UploadEntry? Find(string path, IReadOnlyCollection<string> to) =>
        Entries().FirstOrDefault(e => e.Path == path && e.To.Order(StringComparer.Ordinal).SequenceEqual(to.Order(StringComparer.Ordinal)));

    public void Save(UploadEntry entry)
    {
        if (!Parley.EndToEnd.Files.FileId.TryParse(entry.FileId, out _))
        {
            throw new ArgumentException("not a file id", nameof(entry));
        }
        IReadOnlyList<UploadEntry> existing = Entries();
        foreach (UploadEntry old in existing.Where(e => e.FileId != entry.FileId).SkipLast(MaxEntries - 1))
        {
            Remove(old.FileId);
        }
        records.Put(FileRecordKind.Upload, entry.FileId, JsonSerializer.SerializeToUtf8Bytes(entry, s_json));
    }

    /// <summary>Forgets an upload; its key goes with the row (SealedFileRecords.Remove).</summary>
    public void Remove(string fileId) => records.Remove(FileRecordKind.Upload, fileId);

    /// <summary>SHA-256 of a file, read in fixed buffers (never the whole file in memory).</summary>
    public static async Task<byte[]> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using FileStream stream = new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });
        return await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
    }
}
