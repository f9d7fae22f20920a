using System.Text;

namespace Parley.Client;

/// <summary>
/// The user's Parley directory: $PARLEY_HOME, else ~/.parley (0700). It holds known_hosts,
/// known_peers, the identity key, device tokens (0600) and the last message id seen per server and user.
/// </summary>
public sealed class ParleyHome(string path)
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public static ParleyHome Default()
    {
        string? configured = Environment.GetEnvironmentVariable("PARLEY_HOME");
        return new ParleyHome(string.IsNullOrEmpty(configured)
            ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".parley")
            : configured);
    }

    public string KnownHostsPath => System.IO.Path.Combine(Path, "known_hosts");

    public string KnownPeersPath => System.IO.Path.Combine(Path, "known_peers");

    /// <summary>This person's long-term identity key for peer-to-peer chat (created on first use, 0600).</summary>
    public string IdentityPath => System.IO.Path.Combine(Path, "identity.key");

    public string? ReadToken(string host, int port, string user) => ReadSecret(TokenPath(host, port, user));

    public void WriteToken(string host, int port, string user, string token) => WriteSecret(TokenPath(host, port, user), token);

    public void DeleteToken(string host, int port, string user) => File.Delete(TokenPath(host, port, user));

    public long ReadLastSeen(string host, int port, string user) =>
        long.TryParse(ReadSecret(StatePath(host, port, user)), out long id) ? id : 0;

    public void WriteLastSeen(string host, int port, string user, long id) => WriteSecret(StatePath(host, port, user), id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private string TokenPath(string host, int port, string user) => System.IO.Path.Combine(Path, "tokens", Key(host, port, user));

    private string StatePath(string host, int port, string user) => System.IO.Path.Combine(Path, "state", Key(host, port, user));

    private static string Key(string host, int port, string user)
    {
        StringBuilder key = new();
        foreach (char c in $"{host}_{port}_{user}")
        {
            key.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }
        return key.ToString();
    }

    private static string? ReadSecret(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    /// <summary>Writes via a temporary file and a rename, so a crash never leaves half a file.</summary>
    private static void WriteSecret(string path, string value)
    {
        string directory = System.IO.Path.GetDirectoryName(path)!;
        EnsureDirectory(System.IO.Path.GetDirectoryName(directory)!);
        EnsureDirectory(directory);
        string temporary = path + ".tmp";
        FileStreamOptions options = new() { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }
        using (FileStream stream = new(temporary, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(value));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static void EnsureDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, OwnerOnly | UnixFileMode.UserExecute);
        }
    }
}
