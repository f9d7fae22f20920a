// The sender's record of its unfinished uploads (in the client's home, 0600, one file each), so
// an upload goes on where the server says it stopped after a lost connection or a restart of
// `parley chat`. It holds the file's key (the same trust as the end-to-end state's key file
// beside it) and the SHA-256 of the plaintext taken before the first chunk: a resumed upload
// re-reads the file and goes on only if it is unchanged, so no chunk index is ever encrypted
// twice with different contents under one key (PROTOCOL.md §15).
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Transport.Files;

namespace Parley.Client.Files;

public sealed record UploadEntry(string FileId, string Path, string[] To, long Size, int ChunkSize, string Key, string Sha256, string Name,
    string ContentType, long StartedAt, bool OfferSent = false)
{
    /// <summary>A file for a group: <see cref="To"/> are its members (then), and the offer goes as one group message.</summary>
    public string? Group { get; init; }
}

public sealed class UploadJournal(string directory)
{
    /// <summary>Unfinished uploads remembered at most; the oldest is forgotten beyond it (the server expires it too).</summary>
    public const int MaxEntries = 32;

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string Directory { get; } = System.IO.Path.Combine(directory, "uploads");

    public IReadOnlyList<UploadEntry> Entries()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }
        List<UploadEntry> entries = [];
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize<UploadEntry>(File.ReadAllBytes(file), s_json) is { } entry && Parley.EndToEnd.Files.FileId.TryParse(entry.FileId, out _))
                {
                    entries.Add(entry);
                }
            }
            catch (JsonException)
            {
                File.Delete(file);
            }
        }
        return [.. entries.OrderBy(e => e.StartedAt)];
    }

    /// <summary>The unfinished upload of this file to these users, if there is one.</summary>
    public UploadEntry? Find(string path, IReadOnlyCollection<string> to) =>
        Entries().FirstOrDefault(e => e.Path == path && e.To.Order(StringComparer.Ordinal).SequenceEqual(to.Order(StringComparer.Ordinal)));

    public void Save(UploadEntry entry)
    {
        OwnerOnly.CreateDirectory(Directory);
        IReadOnlyList<UploadEntry> existing = Entries();
        foreach (UploadEntry old in existing.Where(e => e.FileId != entry.FileId).SkipLast(MaxEntries - 1))
        {
            Remove(old.FileId);
        }
        string path = PathOf(entry.FileId);
        string temporary = path + ".tmp";
        using (FileStream stream = OwnerOnly.OpenWrite(temporary, FileMode.Create))
        {
            JsonSerializer.Serialize(stream, entry, s_json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    public void Remove(string fileId)
    {
        string path = PathOf(fileId);
        if (File.Exists(path))
        {
            // The key goes with it: overwrite before deleting (best effort on journaling file systems).
            long length = new FileInfo(path).Length;
            using (FileStream stream = new(path, FileMode.Open, FileAccess.Write))
            {
                stream.Write(new byte[length]);
                stream.Flush(flushToDisk: true);
            }
            File.Delete(path);
        }
    }

    private string PathOf(string fileId) =>
        Parley.EndToEnd.Files.FileId.TryParse(fileId, out _) ? System.IO.Path.Combine(Directory, fileId + ".json") : throw new ArgumentException("not a file id", nameof(fileId));

    /// <summary>SHA-256 of a file, read in fixed buffers (never the whole file in memory).</summary>
    public static async Task<byte[]> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using FileStream stream = new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });
        return await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
    }
}
