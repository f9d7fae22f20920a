using System.Text;
using Parley.Transport.Files;

namespace Parley.Client;

/// <summary>
/// The user's Parley directory: $PARLEY_HOME, else ~/.parley (0700). It holds known_hosts,
/// known_peers, the identity key, device tokens and session tickets (0600) and the last message id seen. Tokens and
/// message state belong to a server key (its fingerprint), never to a host:port: whoever answers on
/// a host:port later, with another key, gets neither.
/// </summary>
public sealed class ParleyHome(string path)
{
    /// <summary>Longest account id used in a file name; a longer (or odd) one from a server is not used.</summary>
    public const int MaxAccountIdLength = 64;

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <exception cref="ParleyHomeException">Neither PARLEY_HOME nor an existing home folder is set.</exception>
    public static ParleyHome Default()
    {
        string? configured = Environment.GetEnvironmentVariable("PARLEY_HOME");
        if (!string.IsNullOrEmpty(configured))
        {
            return new ParleyHome(configured);
        }
        // "" when HOME is unset or names a missing folder: combined with ".parley" that would be
        // the current directory, which would then receive the identity key and device tokens.
        string profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(profile))
        {
            throw new ParleyHomeException(
                "cannot find your home folder (HOME is unset or names a folder that does not exist); set HOME, or set PARLEY_HOME to the folder for Parley's files");
        }
        return new ParleyHome(System.IO.Path.Combine(profile, ".parley"));
    }

    public string KnownHostsPath => System.IO.Path.Combine(Path, "known_hosts");

    public string KnownPeersPath => System.IO.Path.Combine(Path, "known_peers");

    /// <summary>This person's long-term identity key for peer-to-peer chat (created on first use, 0600).</summary>
    public string IdentityPath => System.IO.Path.Combine(Path, "identity.key");

    /// <summary>
    /// Notes that <paramref name="host"/>:<paramref name="port"/> answered with the (trusted) key
    /// <paramref name="serverFingerprint"/>. If it answered with another key before, every device
    /// token issued under that key is deleted: a re-pinned host is treated as a new server.
    /// Tokens and state from before they were bound to a key (named by host:port) are deleted too.
    /// Returns true when a previous key's tokens were dropped.
    /// </summary>
    public bool RecordServerKey(string host, int port, string serverFingerprint)
    {
        string server = ServerDirectoryName(serverFingerprint);
        string endpoint = Key($"{host}_{port}");
        DeleteUnboundFiles(endpoint);
        string record = System.IO.Path.Combine(Path, "servers", endpoint);
        string? previous = ReadSecret(record);
        bool dropped = false;
        if (previous != server)
        {
            if (previous is not null && IsServerDirectoryName(previous))
            {
                // A session ticket belongs to the old key too: it would resume a session with it.
                string ticket = System.IO.Path.Combine(Path, "tickets", previous);
                if (File.Exists(ticket))
                {
                    File.Delete(ticket);
                }
                string tokens = System.IO.Path.Combine(Path, "tokens", previous);
                dropped = Directory.Exists(tokens);
                if (dropped)
                {
                    Directory.Delete(tokens, recursive: true);
                }
            }
            WriteSecret(record, server);
        }
        return dropped;
    }

    /// <summary>
    /// Removes and returns the session ticket saved for the key last seen at <paramref name="host"/>:<paramref name="port"/>
    /// (single-use: whatever happens next, it is not offered twice); null when there is none.
    /// </summary>
    public string? TakeSessionTicket(string host, int port)
    {
        string? server = ReadSecret(System.IO.Path.Combine(Path, "servers", Key($"{host}_{port}")));
        if (server is null || !IsServerDirectoryName(server))
        {
            return null;
        }
        string path = System.IO.Path.Combine(Path, "tickets", server);
        string? ticket = ReadSecret(path);
        if (ticket is not null)
        {
            File.Delete(path);
        }
        return ticket;
    }

    /// <summary>Saves the latest session ticket of a server key (0600; one per key, the last one wins).</summary>
    public void WriteSessionTicket(string serverFingerprint, string ticket) =>
        WriteSecret(System.IO.Path.Combine(Path, "tickets", ServerDirectoryName(serverFingerprint)), ticket);

    public string? ReadToken(string serverFingerprint, string user) => ReadSecret(TokenPath(serverFingerprint, user));

    public void WriteToken(string serverFingerprint, string user, string token) => WriteSecret(TokenPath(serverFingerprint, user), token);

    public void DeleteToken(string serverFingerprint, string user) => File.Delete(TokenPath(serverFingerprint, user));

    /// <summary>Whether <paramref name="accountId"/> (from a server) can key the saved state: 1–64 of a-z A-Z 0-9 - _.</summary>
    public static bool IsUsableAccountId(string? accountId) =>
        accountId is { Length: > 0 and <= MaxAccountIdLength } && accountId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The highest message id shown for this account on this server key; 0 for an account never seen (a new key, or a re-registered name).</summary>
    public long ReadLastSeen(string serverFingerprint, string user, string accountId) =>
        long.TryParse(ReadSecret(StatePath(serverFingerprint, user, accountId)), out long id) ? id : 0;

    public void WriteLastSeen(string serverFingerprint, string user, string accountId, long id) =>
        WriteSecret(StatePath(serverFingerprint, user, accountId), id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Where the end-to-end state of one device (user and device id, on one server key) is kept, encrypted (E2eDeviceFile).</summary>
    public string EndToEndStatePath(string serverFingerprint, string user, string deviceId) =>
        System.IO.Path.Combine(Path, "e2e", ServerDirectoryName(serverFingerprint), Key(user), Key(deviceId) + ".state");

    /// <summary>The lines typed in `parley chat` as this user on this server key (Up/Down history; 0600).</summary>
    public string ChatHistoryPath(string serverFingerprint, string user) =>
        System.IO.Path.Combine(Path, "history", ServerDirectoryName(serverFingerprint), Key(user));

    /// <summary>Whether this account sends read receipts (PROTOCOL.md §13.11); on unless 'receipts off' saved otherwise.</summary>
    public bool ReadReceiptsOn(string serverFingerprint, string user) => ReadSecret(SettingsPath(serverFingerprint, user, "read-receipts")) != "off";

    public void WriteReadReceipts(string serverFingerprint, string user, bool on) =>
        WriteSecret(SettingsPath(serverFingerprint, user, "read-receipts"), on ? "on" : "off");

    private string SettingsPath(string serverFingerprint, string user, string setting) =>
        System.IO.Path.Combine(Path, "settings", ServerDirectoryName(serverFingerprint), Key(user), setting);

    /// <summary>Where an earlier version kept one user's upload journal and received offers on one server key, as files; parley chat moves them into the device database (LegacyTransferFiles).</summary>
    public string FileTransfersPath(string serverFingerprint, string user) =>
        System.IO.Path.Combine(Path, "files", ServerDirectoryName(serverFingerprint), Key(user));

    private string TokenPath(string serverFingerprint, string user) =>
        System.IO.Path.Combine(Path, "tokens", ServerDirectoryName(serverFingerprint), Key(user));

    private string StatePath(string serverFingerprint, string user, string accountId)
    {
        if (!IsUsableAccountId(accountId))
        {
            throw new ArgumentException("not a usable account id", nameof(accountId));
        }
        return System.IO.Path.Combine(Path, "state", ServerDirectoryName(serverFingerprint), $"{Key(user)}.{accountId}");
    }

    /// <summary>"SHA256:" and 43 base64 characters become "sha256-" and the same in base64url: a file name that keeps every bit.</summary>
    private static string ServerDirectoryName(string fingerprint)
    {
        const string Prefix = "SHA256:";
        string hash = fingerprint.StartsWith(Prefix, StringComparison.Ordinal) ? fingerprint[Prefix.Length..] : "";
        if (hash.Length != 43 || !hash.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/'))
        {
            throw new ArgumentException("not a SHA256 key fingerprint", nameof(fingerprint));
        }
        return "sha256-" + hash.Replace('+', '-').Replace('/', '_');
    }

    private static bool IsServerDirectoryName(string name) =>
        name.Length == 50 && name.StartsWith("sha256-", StringComparison.Ordinal) && name[7..].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Deletes the token and state files named "host_port_user" (the layout before tokens were bound to a server key).</summary>
    private void DeleteUnboundFiles(string endpoint)
    {
        foreach (string folder in new[] { "tokens", "state" })
        {
            string directory = System.IO.Path.Combine(Path, folder);
            if (Directory.Exists(directory))
            {
                foreach (string file in Directory.EnumerateFiles(directory, endpoint + "_*"))
                {
                    File.Delete(file);
                }
            }
        }
    }

    private static string Key(string value)
    {
        StringBuilder key = new();
        foreach (char c in value)
        {
            key.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }
        return key.ToString();
    }

    private static string? ReadSecret(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    /// <summary>Writes via a temporary file and a rename, so a crash never leaves half a file.</summary>
    private void WriteSecret(string path, string value)
    {
        // Every folder from the home down is created owner-only, not just the last one.
        OwnerOnly.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        string temporary = path + ".tmp";
        using (FileStream stream = OwnerOnly.OpenWrite(temporary, FileMode.Create))
        {
            stream.Write(Encoding.UTF8.GetBytes(value));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
