// Port options and answers read one way everywhere: "abc" is "'abc' is not a port number (1–65535)",
// not the type name System.CommandLine would print for an int? it cannot parse.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Parley.Protocol.Text;

namespace Parley.Cli.CommandLine;

internal static class PortOption
{
    /// <summary>Parses a port; <paramref name="allowZero"/> for listening sockets, where 0 means any free port.</summary>
    public static bool TryParse(string? text, bool allowZero, out int port, out string error)
    {
        int lowest = allowZero ? 0 : 1;
        if (int.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out port) && port >= lowest && port <= 65535)
        {
            error = "";
            return true;
        }
        error = $"'{UntrustedText.Sanitize(text, 40)}' is not a port number ({lowest}–65535)";
        return false;
    }

    /// <summary>An optional port (null when not given).</summary>
    public static Option<int?> Optional(string name, string description, bool allowZero = false, params string[] aliases)
    {
        Option<int?> option = new(name, aliases) { Description = description };
        option.CustomParser = result => Parse(result, name, allowZero);
        return option;
    }

    /// <summary>A port with a default.</summary>
    public static Option<int> WithDefault(string name, string description, int defaultPort, bool allowZero = false, params string[] aliases)
    {
        Option<int> option = new(name, aliases) { Description = description, DefaultValueFactory = _ => defaultPort };
        option.CustomParser = result => Parse(result, name, allowZero) ?? defaultPort;
        return option;
    }

    private static int? Parse(ArgumentResult result, string name, bool allowZero)
    {
        string? text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
        if (TryParse(text, allowZero, out int port, out string error))
        {
            return port;
        }
        result.AddError($"{name}: {error}");
        return null;
    }
}
