// `parley server --config FILE`: the same settings as the flags, one `name = value` a line (the
// flag's name without its dashes; `#` starts a comment), for systemd units and deploy/. The file's
// settings go in front of the command line, so a flag given as well wins (the last value counts).
namespace Parley.Cli.Commands;

internal static class ServerConfigFile
{
    /// <summary>Settings one file may hold at most (a bound on what a mistaken path can make us read).</summary>
    private const int MaxLines = 1000;

    /// <summary>
    /// <paramref name="args"/> with every <c>--config FILE</c> of a <c>server</c> command replaced by
    /// the file's settings as flags; a file that cannot be read or a bad line is an error in words.
    /// </summary>
    public static string[] Expand(string[] args, out string? error)
    {
        error = null;
        if (args.Length == 0 || args[0] != "server")
        {
            return args;
        }
        List<string> fromFiles = [];
        List<string> rest = [];
        for (int i = 1; i < args.Length; i++)
        {
            string? path = args[i] == "--config" && i + 1 < args.Length ? args[++i]
                : args[i].StartsWith("--config=", StringComparison.Ordinal) ? args[i]["--config=".Length..] : null;
            if (path is null)
            {
                rest.Add(args[i]);
                continue;
            }
            if (!TryRead(path, fromFiles, out error))
            {
                return args;
            }
        }
        return ["server", .. fromFiles, .. rest];
    }

    private static bool TryRead(string path, List<string> flags, out string? error)
    {
        error = null;
        string[] lines;
        try
        {
            lines = File.ReadLines(path).Take(MaxLines + 1).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read the configuration file {path}: {e.Message}";
            return false;
        }
        if (lines.Length > MaxLines)
        {
            error = $"{path}: more than {MaxLines} lines";
            return false;
        }
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            string name = equals < 0 ? "" : line[..equals].Trim();
            if (name.Length == 0 || name.StartsWith('-') || name == "config" || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                error = $"{path}:{n + 1}: expected 'name = value' with a server setting's name (as the flag, without '--')";
                return false;
            }
            flags.Add("--" + name);
            flags.Add(line[(equals + 1)..].Trim());
        }
        return true;
    }
}
