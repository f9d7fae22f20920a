using System.Reflection;

namespace Parley.Cli.CommandLine;

/// <summary>What `parley version`, `parley --version` and `parley -v` print: the version and the commit it was built from.</summary>
internal static class VersionText
{
    public static string Line()
    {
        string version = typeof(VersionText).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        // "1.0.0+<40 hex digits>": the short commit is enough to find the build.
        return plus < 0 ? $"parley {version}" : $"parley {version[..plus]} (commit {version[(plus + 1)..Math.Min(version.Length, plus + 8)]})";
    }
}

/// <summary>The action behind `--version` / `-v`: our one version line instead of the bare assembly version.</summary>
internal sealed class PrintVersionAction : System.CommandLine.Invocation.SynchronousCommandLineAction
{
    public override int Invoke(System.CommandLine.ParseResult parseResult)
    {
        Console.WriteLine(VersionText.Line());
        return ExitCodes.Success;
    }
}
