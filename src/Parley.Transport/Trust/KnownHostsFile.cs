// known_hosts, trust on first use as in OpenSSH. One line per server:
//     <host>:<port> <algorithm> <base64 public key>
// Blank lines and lines starting with '#' are ignored. The file is created 0600, its folder 0700.
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Transport.Files;

namespace Parley.Transport.Trust;

public enum KnownHostStatus
{
    Unknown,
    Match,
    Mismatch,
}

public readonly record struct KnownHostLookup(KnownHostStatus Status, int LineNumber, string? StoredFingerprint);

/// <summary>One line of the file: what it names, its key's algorithm and fingerprint (null when the key does not decode).</summary>
public sealed record KnownHostEntry(int LineNumber, string Name, string Algorithm, string? Fingerprint);

public sealed class KnownHostsFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public KnownHostLookup Lookup(string hostPort, PeerIdentity identity)
    {
        if (!File.Exists(Path))
        {
            return new KnownHostLookup(KnownHostStatus.Unknown, 0, null);
        }
        string[] lines = File.ReadAllLines(Path);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || !string.Equals(parts[0], hostPort, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            string stored = TryFingerprint(parts[1], parts[2]) ?? "(unreadable entry)";
            bool same = parts[1] == identity.Algorithm.Name && parts[2] == identity.PublicKeyBase64;
            return new KnownHostLookup(same ? KnownHostStatus.Match : KnownHostStatus.Mismatch, i + 1, stored);
        }
        return new KnownHostLookup(KnownHostStatus.Unknown, 0, null);
    }

    public void Add(string hostPort, PeerIdentity identity)
    {
        string? directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            OwnerOnly.CreateDirectory(directory);
        }
        using FileStream stream = OwnerOnly.OpenWrite(Path, FileMode.Append);
        using StreamWriter writer = new(stream);
        writer.WriteLine($"{hostPort} {identity.Algorithm.Name} {identity.PublicKeyBase64}");
    }

    /// <summary>Every entry, in file order; lines that are not entries are left out.</summary>
    public IReadOnlyList<KnownHostEntry> Entries()
    {
        if (!File.Exists(Path))
        {
            return [];
        }
        List<KnownHostEntry> entries = [];
        string[] lines = File.ReadAllLines(Path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (Parse(lines[i]) is { } parts)
            {
                entries.Add(new KnownHostEntry(i + 1, parts[0], parts[1], TryFingerprint(parts[1], parts[2])));
            }
        }
        return entries;
    }

    /// <summary>
    /// Removes every entry whose name <paramref name="matches"/> (like <c>ssh-keygen -R</c>) and
    /// returns them; comments and other lines stay. The file is replaced in one rename, still 0600.
    /// </summary>
    public IReadOnlyList<KnownHostEntry> Remove(Func<string, bool> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        if (!File.Exists(Path))
        {
            return [];
        }
        string[] lines = File.ReadAllLines(Path);
        List<string> kept = [];
        List<KnownHostEntry> removed = [];
        for (int i = 0; i < lines.Length; i++)
        {
            if (Parse(lines[i]) is { } parts && matches(parts[0]))
            {
                removed.Add(new KnownHostEntry(i + 1, parts[0], parts[1], TryFingerprint(parts[1], parts[2])));
            }
            else
            {
                kept.Add(lines[i]);
            }
        }
        if (removed.Count > 0)
        {
            string temporary = Path + ".tmp";
            using (FileStream stream = OwnerOnly.OpenWrite(temporary, FileMode.Create))
            using (StreamWriter writer = new(stream))
            {
                foreach (string line in kept)
                {
                    writer.WriteLine(line);
                }
            }
            File.Move(temporary, Path, overwrite: true);
        }
        return removed;
    }

    /// <summary>The three fields of an entry line; null for blank lines, comments and anything else.</summary>
    private static string[]? Parse(string line)
    {
        string trimmed = line.Trim();
        if (trimmed.Length == 0 || trimmed.StartsWith('#'))
        {
            return null;
        }
        string[] parts = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 3 ? parts : null;
    }

    private static string? TryFingerprint(string algorithm, string base64)
    {
        try
        {
            return Fingerprint.Of(algorithm, Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
