using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Cli.Commands;
using Parley.Cli.Terminal;
using Parley.Client.Files;
using Parley.EndToEnd;
using Parley.EndToEnd.Files;
using Parley.Tests.Support;
using static Parley.Tests.Files.FileTestKit;

namespace Parley.Tests.Client;

/// <summary>
/// File transfers kept between runs (unfinished uploads, received offers: each holds a file key) are
/// sealed rows of the device database: nothing readable on disk, a row moved or sealed under another
/// key fails closed, a removed one leaves nothing behind, and an earlier version's JSON files move in once.
/// </summary>
public class SealedFileRecordsTests
{
    private const string Marker = "MARKER-file-key-5e1d-never-on-disk-in-the-clear";

    private static byte[] Value(string text) => Encoding.UTF8.GetBytes($"{{\"key\":\"{Marker}\",\"text\":\"{text}\"}}");

    private static string Text(byte[] value) => Encoding.UTF8.GetString(value);

    private static byte[] SealedRow(string home, string fileId)
    {
        using SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = Path.Combine(home, "device.db"), Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = "SELECT value FROM file_records WHERE file_id = $f";
        select.Parameters.AddWithValue("$f", fileId);
        return (byte[])select.ExecuteScalar()!;
    }

    private static void Sql(string home, string sql)
    {
        using SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = Path.Combine(home, "device.db"), Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public void Records_are_sealed_on_disk_survive_a_reopen_and_a_removed_one_leaves_nothing_behind()
    {
        using TempDirectory home = new();
        string offerId = FileId.New().ToString(), uploadId = FileId.New().ToString();
        using (SealedFileRecords records = OpenRecords(home.Path))
        {
            records.Put(FileRecordKind.Offer, offerId, Value("offer"));
            records.Put(FileRecordKind.Upload, uploadId, Value("upload"));
        }
        Assert.False(AnyFileHolds(home.Path, Encoding.UTF8.GetBytes(Marker)), "a file key is on disk in the clear");

        byte[] sealedOffer = SealedRow(home.Path, offerId);
        Assert.True(AnyFileHolds(home.Path, sealedOffer), "the scan below could not see a row");
        using (SealedFileRecords reopened = OpenRecords(home.Path))
        {
            (string id, byte[] value) = Assert.Single(reopened.All(FileRecordKind.Offer));
            Assert.Equal((offerId, Text(Value("offer"))), (id, Text(value)));
            Assert.Equal(Text(Value("upload")), Text(Assert.Single(reopened.All(FileRecordKind.Upload)).Value));

            reopened.Remove(FileRecordKind.Offer, offerId);
            Assert.Empty(reopened.All(FileRecordKind.Offer));
            Assert.Single(reopened.All(FileRecordKind.Upload));
        }
        // Overwritten in the database and gone from its log: not even the sealed bytes are left.
        Assert.False(AnyFileHolds(home.Path, sealedOffer), "the removed row is still in a file");
    }

    [Fact]
    public void A_row_moved_to_another_file_or_kind_fails_closed_and_is_dropped_when_loaded()
    {
        using TempDirectory home = new();
        string first = FileId.New().ToString(), second = FileId.New().ToString();
        using (SealedFileRecords records = OpenRecords(home.Path))
        {
            records.Put(FileRecordKind.Offer, first, Value("first"));
            records.Put(FileRecordKind.Offer, second, Value("second"));
            records.Put(FileRecordKind.Upload, first, Value("upload"));
        }
        // Someone with the files (not the key) puts first's sealed offer in second's row, and turns the upload into an offer.
        Sql(home.Path, $"UPDATE file_records SET value = (SELECT value FROM file_records WHERE kind = 'offer' AND file_id = '{first}') WHERE file_id = '{second}'");

        using SealedFileRecords reopened = OpenRecords(home.Path);
        E2eProtocolException moved = Assert.Throws<E2eProtocolException>(() => reopened.All(FileRecordKind.Offer));
        Assert.Equal(E2eError.DecryptionFailed, moved.Error);
        Assert.Equal(1, reopened.DropUnreadable());
        Assert.Equal([first], reopened.All(FileRecordKind.Offer).Select(r => r.FileId));

        Sql(home.Path, $"DELETE FROM file_records WHERE kind = 'offer'; UPDATE file_records SET kind = 'offer' WHERE kind = 'upload'");
        Assert.Throws<E2eProtocolException>(() => reopened.All(FileRecordKind.Offer));
        Assert.Equal(1, reopened.DropUnreadable());
        Assert.Empty(reopened.All(FileRecordKind.Offer));
    }

    [Fact]
    public void Records_sealed_under_another_key_file_or_for_another_user_are_not_read()
    {
        using TempDirectory home = new();
        string fileId = FileId.New().ToString();
        using (SealedFileRecords records = OpenRecords(home.Path))
        {
            records.Put(FileRecordKind.Upload, fileId, Value("upload"));
        }
        using (SealedFileRecords asBob = OpenRecords(home.Path, user: "bob"))
        {
            Assert.Throws<E2eProtocolException>(() => asBob.All(FileRecordKind.Upload));
        }
        File.WriteAllBytes(Path.Combine(home.Path, "device.db.key"), RandomNumberGenerator.GetBytes(32));
        using SealedFileRecords otherKey = OpenRecords(home.Path);
        Assert.Throws<E2eProtocolException>(() => otherKey.All(FileRecordKind.Upload));
        Assert.Equal(1, otherKey.DropUnreadable());
    }

    [Fact]
    public void An_earlier_versions_json_files_move_in_once_and_are_deleted_and_parley_chat_announces_the_offer()
    {
        using TempDirectory home = new();
        string transfers = Directory.CreateDirectory(home.File("transfers")).FullName;
        string uploads = Directory.CreateDirectory(Path.Combine(transfers, "uploads")).FullName;
        string offers = Directory.CreateDirectory(Path.Combine(transfers, "offers")).FullName;
        JsonSerializerOptions camel = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

        UploadEntry upload = new(FileId.New().ToString(), home.File("big.bin"), ["bob"], 5000, 4096, Marker, "00", "big.bin", "application/octet-stream", 1);
        File.WriteAllBytes(Path.Combine(uploads, upload.FileId + ".json"), JsonSerializer.SerializeToUtf8Bytes(upload, camel));
        using FileKey key = FileKey.Generate();
        FileId offerId = FileId.New();
        using FileOffer offer = new(offerId, new FileLayout(5000, FileLayout.DefaultChunkSize), key, SHA256.HashData(new byte[1]), "minutes.txt", "text/plain");
        File.WriteAllText(Path.Combine(offers, offerId + ".json"),
            $"{{\"from\":\"bob\",\"offer\":\"{Convert.ToHexStringLower(offer.Encode())}\",\"receivedAt\":1,\"destination\":null}}");
        // What a cut write or another program left: deleted too (a .tmp may hold a key), never read.
        File.WriteAllText(Path.Combine(offers, offerId + ".json.tmp"), Marker);
        File.WriteAllText(Path.Combine(uploads, "not-a-file-id.json"), Marker);

        using SealedFileRecords records = OpenRecords(home.File("device"));
        ChatFiles files = new(new ChatConsole { Json = true }, "alice", records, transfers, null, () => "");
        string announced = Assert.Single(files.Load());
        Assert.StartsWith("[FILE] bob offers minutes.txt", announced, StringComparison.Ordinal);
        Assert.Equal(upload.FileId, Assert.Single(files.Journal.Entries()).FileId);
        Assert.False(Directory.Exists(uploads) || Directory.Exists(offers), "the old folders are still there");
        Assert.False(AnyFileHolds(home.Path, Encoding.UTF8.GetBytes(Marker)), "a key is still on disk in the clear");

        // Moved once: a second start reads the same from the database alone.
        ChatFiles again = new(new ChatConsole { Json = true }, "alice", records, transfers, null, () => "");
        Assert.StartsWith("[FILE] bob offers minutes.txt", Assert.Single(again.Load()), StringComparison.Ordinal);
    }

    [Fact]
    public void An_earlier_versions_file_that_cannot_be_read_is_named_and_the_others_still_move_in()
    {
        using TempDirectory home = new();
        string transfers = Directory.CreateDirectory(home.File("transfers")).FullName;
        string offers = Directory.CreateDirectory(Path.Combine(transfers, "offers")).FullName;
        using FileKey key = FileKey.Generate();
        FileId offerId = FileId.New();
        using FileOffer offer = new(offerId, new FileLayout(5000, FileLayout.DefaultChunkSize), key, SHA256.HashData(new byte[1]), "minutes.txt", "text/plain");
        File.WriteAllText(Path.Combine(offers, offerId + ".json"),
            $"{{\"from\":\"bob\",\"offer\":\"{Convert.ToHexStringLower(offer.Encode())}\",\"receivedAt\":1,\"destination\":null}}");
        // A link to nothing: listed as a file, and reading it fails.
        string broken = Path.Combine(offers, FileId.New() + ".json");
        File.CreateSymbolicLink(broken, home.File("gone"));

        using SealedFileRecords records = OpenRecords(home.File("device"));
        ChatFiles files = new(new ChatConsole { Json = true }, "alice", records, transfers, null, () => "");
        IReadOnlyList<string> lines = files.Load();

        Assert.Equal(2, lines.Count);
        Assert.StartsWith("[ERROR] A file transfer kept by an earlier version could not be moved into the device database: " + broken, lines[0], StringComparison.Ordinal);
        Assert.StartsWith("[FILE] bob offers minutes.txt", lines[1], StringComparison.Ordinal);
        Assert.Equal([broken], Directory.EnumerateFileSystemEntries(offers));
    }
}
