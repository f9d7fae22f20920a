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
    private readonly bool _identityExisted;
    private readonly string[] _newDatabases;
    private readonly string[] _newInboxLogs;

    private StartupFootprint(string directory, string identityPath, string[] databasePaths)
    {
        _directory = directory;
        _identityPath = identityPath;
        CreatesDirectory = !Directory.Exists(directory);
        _identityExisted = File.Exists(identityPath);
        _newDatabases = [.. databasePaths.Where(path => !File.Exists(path))];
        // The messages database keeps its inbox log in a directory beside it (Storage/Inbox).
        _newInboxLogs = [.. databasePaths.Select(path => path + "-inbox").Where(path => !Directory.Exists(path))];
    }

    /// <summary>The data directory does not exist yet: this start creates it.</summary>
    public bool CreatesDirectory { get; }

    /// <summary>Notes what exists before the start writes anything.</summary>
    public static StartupFootprint Before(string directory, string identityPath, params string[] databasePaths) =>
        new(directory, identityPath, databasePaths);

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
            foreach (string database in _newDatabases)
            {
                foreach (string suffix in s_databaseCompanions)
                {
                    File.Delete(database + suffix);
                }
            }
            foreach (string inboxLog in _newInboxLogs.Where(Directory.Exists))
            {
                Directory.Delete(inboxLog, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not remove what a failed start created in {Directory}: {Message}", _directory, e.Message);
        }
    }
}
