// Before the file records were sealed rows of the device database, unfinished uploads and received
// offers were owner-only JSON files (`uploads/<id>.json`, `offers/<id>.json` in the user's
// transfers folder), file keys in the clear. They are moved into the sealed records once, then
// overwritten and deleted, so an upgrade leaves no file key readable without the state's key file.
using System.Security.Cryptography;
using Parley.EndToEnd.Files;

namespace Parley.Client.Files;

public static class LegacyTransferFiles
{
    /// <summary>
    /// Moves the JSON files under <paramref name="directory"/> into <paramref name="records"/>. A file
    /// that cannot be read or wiped stays where it is and is named in the result; the others move.
    /// </summary>
    public static (int Moved, IReadOnlyList<string> Failed) MoveInto(string directory, SealedFileRecords records)
    {
        List<string> failed = [];
        int moved = Move(Path.Combine(directory, "uploads"), FileRecordKind.Upload, records, failed);
        moved += Move(Path.Combine(directory, "offers"), FileRecordKind.Offer, records, failed);
        return (moved, failed);
    }

    private static int Move(string folder, FileRecordKind kind, SealedFileRecords records, List<string> failed)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }
        int moved = 0;
        foreach (string file in Directory.EnumerateFiles(folder))
        {
            try
            {
                moved += MoveOne(file, kind, records) ? 1 : 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failed.Add($"{file}: {e.Message}");
            }
        }
        if (!Directory.EnumerateFileSystemEntries(folder).Any())
        {
            Directory.Delete(folder);
        }
        return moved;
    }

    private static bool MoveOne(string file, FileRecordKind kind, SealedFileRecords records)
    {
        string fileId = Path.GetFileNameWithoutExtension(file);
        bool moved = false;
        if (file.EndsWith(".json", StringComparison.Ordinal) && FileId.TryParse(fileId, out _))
        {
            byte[] value = File.ReadAllBytes(file);
            if (kind != FileRecordKind.Upload || UploadJournal.Parse(value)?.FileId == fileId)
            {
                records.Put(kind, fileId, value);
                moved = true;
            }
            CryptographicOperations.ZeroMemory(value);
        }
        // Moved, unreadable, or a .tmp left by a write that was cut: each may hold a key.
        Wipe(file);
        return moved;
    }

    /// <summary>Overwrites the file with zeros before deleting it (best effort on journaling and copy-on-write file systems).</summary>
    private static void Wipe(string path)
    {
        long length = new FileInfo(path).Length;
        using (FileStream stream = new(path, FileMode.Open, FileAccess.Write))
        {
            stream.Write(new byte[length]);
            stream.Flush(flushToDisk: true);
        }
        File.Delete(path);
    }
}
