// Colour for the chat's lines: the tag says what a line is ([ERROR] red, [STATUS] green, notices
// dim), the sender's name stands out. Applied to lines that are already sanitised, so the only
// escape sequences on the terminal are these. Off with NO_COLOR (https://no-color.org: set and not
// empty), TERM=dumb, or when output is not a terminal.
using System.Text.RegularExpressions;

namespace Parley.Cli.Terminal;

public static partial class LineStyle
{
    private const string Reset = "\u001b[0m";
    private const string Bold = "\u001b[1m";
    private const string Dim = "\u001b[2m";
    private const string Red = "\u001b[31m";
    private const string Green = "\u001b[32m";
    private const string Yellow = "\u001b[33m";
    private const string Cyan = "\u001b[36m";

    /// <summary>Whether this process should colour its output, from the environment and whether stdout is a terminal.</summary>
    public static bool Enabled(bool outputIsTerminal, Func<string, string?> environment) =>
        outputIsTerminal
        && string.IsNullOrEmpty(environment("NO_COLOR"))
        && environment("TERM") is not "dumb";

    public static string Prompt(string prompt) => Bold + Green + prompt + Reset;

    /// <summary>The line with colour codes around its time, tag and sender; a line of no known shape is returned as it is.</summary>
    public static string Apply(string line)
    {
        Match match = TaggedLine().Match(line);
        if (!match.Success)
        {
            return line;
        }
        string time = match.Groups["time"].Success ? Dim + match.Groups["time"].Value + Reset : "";
        string tag = match.Groups["tag"].Value;
        string rest = match.Groups["rest"].Value;
        switch (tag)
        {
            case "[ERROR]":
                return time + Bold + Red + tag + Reset + Red + rest + Reset;
            case "[STATUS]":
                return time + Green + tag + Reset + rest;
            case "[NEW MESSAGE]" or "[BROADCAST]":
                Match from = Sender().Match(rest);
                return from.Success
                    ? time + Bold + tag + Reset + from.Groups["lead"].Value + Bold + Yellow + from.Groups["name"].Value + Reset + from.Groups["text"].Value
                    : time + Bold + tag + Reset + rest;
            default:
                return time + Cyan + tag + Reset + Dim + rest + Reset;
        }
    }

    [GeneratedRegex(@"^(?<time>(\d{4}-\d\d-\d\d )?\d\d:\d\d )?(?<tag>\[[A-Z][A-Z ]*\])(?<rest>[^\n]*)$")]
    private static partial Regex TaggedLine();

    [GeneratedRegex(@"^(?<lead> From )(?<name>[^:]+)(?<text>:.*)$")]
    private static partial Regex Sender();
}
