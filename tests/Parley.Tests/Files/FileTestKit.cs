using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Client.Files;
using Parley.EndToEnd.Files;
using Parley.Tests.Support;

namespace Parley.Tests.Files;

/// <summary>Shared steps of the file tests: files with a marker in them, sending an offer end to end, the server's files.db.</summary>
internal static class FileTestKit
{
    public const string Marker = "MARKER-f11e-the-server-must-never-see-this-plaintext";

    /// <summary>A file of <paramref name="size"/> bytes: random, with the marker every 4 KiB (so any stored plaintext would show it).</summary>
    public static string MakeFile(TempDirectory directory, string name, int size)
    {
        byte[] content = RandomNumberGenerator.GetBytes(size);
        byte[] marker = System.Text.Encoding.ASCII.GetBytes(Marker);
        for (int at = 0; at + marker.Length <= size; at += 4096)
        {
            marker.CopyTo(content, at);
        }
        string path = directory.File(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public static string Sha256Of(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Uploads and sends the offer to <paramref name="to"/>; returns the entry (the journal forgets it, as parley chat does).</summary>
    public static async Task<UploadEntry> SendFileAsync(E2eTestDevice from, string to, string path, UploadJournal journal, int chunkSize = 4096)
    {
        FileSender sender = new(from.Client, journal) { ChunkSize = chunkSize };
        UploadEntry entry = await sender.UploadAsync(path, [to], "application/octet-stream", null).WithTimeout();
        using FileOffer offer = FileSender.OfferFor(entry);
        await from.Keys.SendFileOfferAsync(from.Client, to, offer).WithTimeout();
        journal.Remove(entry.FileId);
        return entry;
    }

    /// <summary>The sealed file records of a device database in <paramref name="home"/> (parley chat's upload journal and offers live there).</summary>
    public static SealedFileRecords OpenRecords(string home, string user = "alice")
    {
        using E2eDeviceDatabase database = new(Path.Combine(home, "device.db"), user);
        return database.OpenFileRecords();
    }

    /// <summary>The next message, which must be a file offer, decoded.</summary>
    public static async Task<FileOffer> NextOfferAsync(E2eTestDevice device)
    {
        E2eIncoming incoming = await device.NextAsync();
        Assert.NotNull(incoming.FileOffer);
        return FileOffer.Decode(incoming.FileOffer);
    }

    public static string FilesDatabase(TestServer server) => Path.Combine(server.DataDirectory, "data", "files.db");

    /// <summary>Whether any of the server's database files (messages and files, with their logs) holds <paramref name="marker"/>.</summary>
    public static bool ServerFilesContain(TestServer server, string marker) =>
        AnyFileHolds(Path.Combine(server.DataDirectory, "data"), System.Text.Encoding.ASCII.GetBytes(marker), SearchOption.TopDirectoryOnly);

    /// <summary>Whether any file in <paramref name="folder"/> holds <paramref name="needle"/> (read while others may still write it).</summary>
    public static bool AnyFileHolds(string folder, byte[] needle, SearchOption search = SearchOption.AllDirectories)
    {
        foreach (string path in Directory.EnumerateFiles(folder, "*", search))
        {
            using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using MemoryStream copy = new();
            stream.CopyTo(copy);
            if (copy.ToArray().AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Chunks the server holds for <paramref name="fileId"/> (read from its files.db, read-only).</summary>
    public static long StoredChunks(TestServer server, string fileId)
    {
        using SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = FilesDatabase(server), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM file_chunks WHERE file_id = $f";
        command.Parameters.AddWithValue("$f", fileId);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Flips one bit of one stored chunk, as a malicious or broken server would.</summary>
    public static void TamperWithChunk(TestServer server, string fileId, long index)
    {
        using SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = FilesDatabase(server), Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM file_chunks WHERE file_id = $f AND idx = $i";
        command.Parameters.AddWithValue("$f", fileId);
        command.Parameters.AddWithValue("$i", index);
        byte[] body = (byte[])command.ExecuteScalar()!;
        body[10] ^= 1;
        command.CommandText = "UPDATE file_chunks SET body = $b WHERE file_id = $f AND idx = $i";
        command.Parameters.AddWithValue("$b", body);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    /// <summary>Cancels <paramref name="cancel"/> once a transfer has passed half its bytes.</summary>
    public sealed class CancelAtHalf(CancellationTokenSource cancel) : IProgress<FileProgress>
    {
        public long DoneWhenCancelled { get; private set; } = -1;

        public void Report(FileProgress value)
        {
            if (value.Fraction >= 0.5 && DoneWhenCancelled < 0)
            {
                DoneWhenCancelled = value.Done;
                cancel.Cancel();
            }
        }
    }
}
