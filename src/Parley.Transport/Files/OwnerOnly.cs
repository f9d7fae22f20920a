// The one place that creates files and folders only their owner can read: private keys, tokens,
// trust files and the message database must never be readable by other local users, not even
// for the moment between creating a file and fixing its mode. On Windows the per-user profile
// ACLs already do this, so the default mode is used there.
namespace Parley.Transport.Files;

public static class OwnerOnly
{
    /// <summary>rw------- : the mode of every secret file.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>rwx------ : the mode of every folder that holds secret files.</summary>
    public const UnixFileMode DirectoryMode = FileMode | UnixFileMode.UserExecute;

    /// <summary>Opens <paramref name="path"/> for writing; a file it creates is owner-only from its first byte.</summary>
    public static FileStream OpenWrite(string path, System.IO.FileMode mode)
    {
        FileStreamOptions options = new() { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }
        return new FileStream(path, options);
    }

    /// <summary>Creates <paramref name="directory"/> and every missing parent owner-only; existing folders are left as they are.</summary>
    public static void CreateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only; a missing
        // parent would get the umask's mode, so each one is created on its own, outermost first.
        Stack<string> missing = new();
        for (string? current = Path.GetFullPath(directory); !string.IsNullOrEmpty(current) && !Directory.Exists(current); current = Path.GetDirectoryName(current))
        {
            missing.Push(current);
        }
        while (missing.TryPop(out string? folder))
        {
            Directory.CreateDirectory(folder, DirectoryMode);
        }
    }

    /// <summary>True when group or others have any access to <paramref name="path"/> (always false on Windows).</summary>
    public static bool IsExposed(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~DirectoryMode) != 0;
}
