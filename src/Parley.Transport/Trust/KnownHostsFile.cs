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
