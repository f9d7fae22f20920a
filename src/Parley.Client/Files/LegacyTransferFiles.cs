// Before the file records were sealed rows of the device database, unfinished uploads and received
// offers were owner-only JSON files (`uploads/<id>.json`, `offers/<id>.json` in the user's
// transfers folder), file keys in the clear. They are moved into the sealed records once, then
// overwritten and deleted, so an upgrade leaves no file key readable without the state's key file.
using System.Security.Cryptography;
using Parley.EndToEnd.Files;

namespace Parley.Client.Files;

public static class LegacyTransferFiles
{
    /// <summary>Moves the JSON files under <paramref name="directory"/> into <paramref name="records"/>; how many were moved.</summary>
    public static int MoveInto(string directory, SealedFileRecords records)
    {
        int moved = Move(Path.Combine(directory, "uploads"), FileRecordKind.Upload, records);
        moved += Move(Path.Combine(directory, "offers"), FileRecordKind.Offer, records);
        return moved;
    }

    private static int Move(string folder, FileRecordKind kind, SealedFileRecords records)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }
        int moved = 0;
        foreach (string file in Directory.EnumerateFiles(folder))
        {
            string fileId = Path.GetFileNameWithoutExtension(file);
            if (file.EndsWith(".json", StringComparison.Ordinal) && FileId.TryParse(fileId, out _))
            {
                byte[] value = File.ReadAllBytes(file);
                bool usable = kind != FileRecordKind.Upload || UploadJournal.Parse(value)?.FileId == fileId;
                if (usable)
                {
                    records.Put(kind, fileId, value);
                    moved++;
                }
                CryptographicOperations.ZeroMemory(value);
            }
            // Moved, unreadable, or a .tmp left by a write that was cut: each may hold a key.
            Wipe(file);
        }
        if (!Directory.EnumerateFileSystemEntries(folder).Any())
        {
            Directory.Delete(folder);
        }
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
