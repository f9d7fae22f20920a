// The name a received file is saved under. The sender's name is the sender's word only: it is
// cut to its last path element, and anything a file system or a terminal would read as more than
// a name (separators, "..", control and format characters, characters Windows refuses, leading
// dots that would hide the file) is replaced, so a file can only ever land in the folder chosen here.
using System.Globalization;
using System.Text;

namespace Parley.Client.Files;

public static class SafeFileName
{
    public const int MaxLength = 120;

    /// <summary>
    /// The name's UTF-8 bytes at most: file systems count a name in bytes (255 on Linux), and the
    /// saved name gets " (12)" and ".part" added while it downloads. 120 CJK characters are 360 bytes.
    /// </summary>
    public const int MaxBytes = 200;
    public const string Fallback = "received-file";

    private static readonly char[] s_refused = ['<', '>', ':', '"', '/', '\\', '|', '?', '*'];

    public static string From(string? offered)
    {
        string name = offered ?? "";
        int cut = name.LastIndexOfAny(['/', '\\']);
        name = cut >= 0 ? name[(cut + 1)..] : name;
        StringBuilder safe = new();
        foreach (Rune rune in name.EnumerateRunes())
        {
            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            bool refused = category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                || (rune.IsAscii && Array.IndexOf(s_refused, (char)rune.Value) >= 0);
            safe.Append(refused ? "_" : rune.ToString());
        }
        string result = safe.ToString().Trim().TrimStart('.').TrimEnd('.', ' ');
        if (result.Length > MaxLength || Encoding.UTF8.GetByteCount(result) > MaxBytes)
        {
            string extension = Path.GetExtension(result);
            extension = extension.Length <= 16 && Encoding.UTF8.GetByteCount(extension) <= 32 ? extension : "";
            result = Cut(result[..^extension.Length], MaxLength - extension.Length, MaxBytes - Encoding.UTF8.GetByteCount(extension)).TrimEnd() + extension;
        }
        if (result.Length == 0)
        {
            return Fallback;
        }
        // Windows opens a device, not a file, for these names whatever the extension (CON, NUL.txt, COM1.log).
        string stem = result.Split('.')[0].TrimEnd(' ');
        return s_deviceNames.Contains(stem) ? "_" + result : result;
    }

    /// <summary>The longest start of <paramref name="text"/> within both bounds, never splitting a character (a surrogate pair is one rune).</summary>
    private static string Cut(string text, int maxChars, int maxBytes)
    {
        StringBuilder kept = new();
        int bytes = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (kept.Length + rune.Utf16SequenceLength > maxChars || bytes + rune.Utf8SequenceLength > maxBytes)
            {
                break;
            }
            kept.Append(rune.ToString());
            bytes += rune.Utf8SequenceLength;
        }
        return kept.ToString();
    }

    private static readonly HashSet<string> s_deviceNames = new(
        ["CON", "PRN", "AUX", "NUL", .. Enumerable.Range(1, 9).SelectMany(i => new[] { $"COM{i}", $"LPT{i}" })], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// As <see cref="FreePath"/>, and its partial file made at once, empty and this user's only, so the
    /// name is this download's: another offer of the same name, announced before this one has begun,
    /// gets another name instead of resuming from (and failing on) this one's partial file.
    /// </summary>
    public static string ReserveFreePath(string folder, string name)
    {
        while (true)
        {
            string candidate = FreePath(folder, name);
            try
            {
                using FileStream reserved = Parley.Transport.Files.OwnerOnly.OpenWrite(candidate + ".part", FileMode.CreateNew);
                return candidate;
            }
            catch (IOException) when (File.Exists(candidate + ".part"))
            {
                // Taken between the look and the make (another process): the next free name.
            }
        }
    }

    /// <summary>A path in <paramref name="folder"/> for <paramref name="name"/> that does not exist yet (name, then "name (1).ext" …), never an existing file.</summary>
    public static string FreePath(string folder, string name)
    {
        string candidate = Path.Combine(folder, name);
        string stem = Path.GetFileNameWithoutExtension(name);
        string extension = Path.GetExtension(name);
        for (int i = 1; File.Exists(candidate) || File.Exists(candidate + ".part") || Directory.Exists(candidate); i++)
        {
            candidate = Path.Combine(folder, $"{stem} ({i}){extension}");
        }
        return candidate;
    }
}
