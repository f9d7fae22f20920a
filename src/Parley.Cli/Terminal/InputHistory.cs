// The lines typed at the chat prompt, for Up/Down. Kept per account (server key and user) in a file
// under the Parley home, owner-only like everything there: what someone typed is as private as
// what they were sent. Bounded in entries and in bytes, the oldest going first. Only the chat's
// command line comes here; passwords are read by another path and never reach it.
using System.Text;
using Parley.Transport.Files;

namespace Parley.Cli.Terminal;

public sealed class InputHistory
{
    public const int DefaultMaxEntries = 500;
    public const int DefaultMaxBytes = 64 * 1024;

    private readonly List<string> _entries = [];
    private readonly string? _path;
    private readonly int _maxEntries;
    private readonly int _maxBytes;

    /// <param name="path">The history file; null keeps the history in memory only.</param>
    public InputHistory(string? path = null, int maxEntries = DefaultMaxEntries, int maxBytes = DefaultMaxBytes)
    {
        _path = path;
        _maxEntries = maxEntries;
        _maxBytes = maxBytes;
        if (path is not null && File.Exists(path))
        {
            // A line is one entry: Enter ends a line, so no entry holds a line break.
            foreach (string line in File.ReadAllLines(path, Encoding.UTF8))
            {
                if (line.Length > 0)
                {
                    _entries.Add(line);
                }
            }
            Trim();
        }
    }

    public IReadOnlyList<string> Entries => _entries;

    /// <summary>Remembers a submitted line (not a blank one, nor a repeat of the last) and saves the file.</summary>
    public void Add(string line)
    {
        // A completion leaves a space after the word; it is no part of what was meant.
        line = line.TrimEnd();
        if (string.IsNullOrWhiteSpace(line) || line.Contains('\n') || line.Contains('\r') || (_entries.Count > 0 && _entries[^1] == line))
        {
            return;
        }
        _entries.Add(line);
        Trim();
        Save();
    }

    private void Trim()
    {
        int bytes = _entries.Sum(entry => Encoding.UTF8.GetByteCount(entry) + 1);
        int drop = 0;
        while (drop < _entries.Count && (_entries.Count - drop > _maxEntries || bytes > _maxBytes))
        {
            bytes -= Encoding.UTF8.GetByteCount(_entries[drop]) + 1;
            drop++;
        }
        _entries.RemoveRange(0, drop);
    }

    private void Save()
    {
        if (_path is null)
        {
            return;
        }
        try
        {
            OwnerOnly.CreateDirectory(Path.GetDirectoryName(_path)!);
            string temporary = _path + ".tmp";
            using (FileStream stream = OwnerOnly.OpenWrite(temporary, FileMode.Create))
            {
                foreach (string entry in _entries)
                {
                    stream.Write(Encoding.UTF8.GetBytes(entry + "\n"));
                }
            }
            File.Move(temporary, _path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // History is a convenience: a read-only or full disk must not end the chat.
        }
    }
}
