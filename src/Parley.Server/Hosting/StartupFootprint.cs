// A start that fails after touching the disk must not leave a half-made server behind (a fresh
// identity the operator never saw, an empty database): it removes exactly what it created and
// nothing that was there before.
using Microsoft.Extensions.Logging;

namespace Parley.Server.Hosting;

internal sealed class StartupFootprint
{
    private static readonly string[] s_databaseCompanions = ["", "-wal", "-shm", "-journal"];

    private readonly string _directory;
    private readonly string _identityPath;
    private readonly string _databasePath;
    private readonly bool _identityExisted;
    private readonly bool _databaseExisted;

    private StartupFootprint(string directory, string identityPath, string databasePath)
    {
        _directory = directory;
        _identityPath = identityPath;
        _databasePath = databasePath;
        CreatesDirectory = !Directory.Exists(directory);
        _identityExisted = File.Exists(identityPath);
        _databaseExisted = File.Exists(databasePath);
    }

    /// <summary>The data directory does not exist yet: this start creates it.</summary>
    public bool CreatesDirectory { get; }

    /// <summary>Notes what exists before the start writes anything.</summary>
    public static StartupFootprint Before(string directory, string identityPath, string databasePath) =>
        new(directory, identityPath, databasePath);

    /// <summary>Removes what this start created; best effort, so the original failure is the one reported.</summary>
    public void Undo(ILogger logger)
    {
        try
        {
            if (CreatesDirectory)
            {
                if (Directory.Exists(_directory))
                {
                    Directory.Delete(_directory, recursive: true);
                }
                return;
            }
            if (!_identityExisted)
            {
                File.Delete(_identityPath);
            }
            if (!_databaseExisted)
            {
                foreach (string suffix in s_databaseCompanions)
                {
                    File.Delete(_databasePath + suffix);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not remove what a failed start created in {Directory}: {Message}", _directory, e.Message);
        }
    }
}
