// Bad usage, said once: an unknown command gets one line (with a suggestion when one is close),
// not System.CommandLine's "Required command was not provided" beside "Unrecognized command".
using System.CommandLine;
using System.CommandLine.Parsing;
using Parley.Protocol.Text;

namespace Parley.Cli.CommandLine;

internal static class UsageErrors
{
    /// <summary>Writes the errors of <paramref name="parsed"/> to <paramref name="error"/>; returns the usage exit code.</summary>
    public static int Report(ParseResult parsed, RootCommand root, IReadOnlyList<string> args, TextWriter error)
    {
        if (parsed.CommandResult.Command == root && args.Count > 0 && !args[0].StartsWith('-'))
        {
            string typed = args[0];
            IEnumerable<string> names = root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            string? closest = Suggestions.Closest(typed, names);
            error.WriteLine($"parley: unknown command '{UntrustedText.Sanitize(typed, 40)}'{(closest is null ? "" : $"; did you mean '{closest}'?")}");
            error.WriteLine("Run 'parley --help' for the commands.");
            return ExitCodes.Usage;
        }
        List<ParseError> errors = [.. parsed.Errors];
        // "Required command was not provided" only repeats what the other error says.
        if (errors.Count > 1)
        {
            errors.RemoveAll(e => e.SymbolResult is CommandResult { Command: RootCommand } && e.Message.StartsWith("Required command", StringComparison.Ordinal));
        }
        foreach (ParseError e in errors)
        {
            error.WriteLine($"parley: {UntrustedText.Sanitize(e.Message, 400)}");
        }
        error.WriteLine($"Run '{CommandPath(parsed.CommandResult)} --help' for usage.");
        return ExitCodes.Usage;
    }

    /// <summary>"parley known-hosts remove" for the remove subcommand: what to type before --help.</summary>
    private static string CommandPath(CommandResult command)
    {
        List<string> names = [];
        for (SymbolResult? current = command; current is not null; current = current.Parent)
        {
            if (current is CommandResult { Command: not RootCommand } named)
            {
                names.Insert(0, named.Command.Name);
            }
        }
        return string.Join(' ', ["parley", .. names]);
    }
}
