using System.CommandLine;
using Parley.Cli.CommandLine;
using Parley.Cli.Commands;

namespace Parley.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // The server and the load generator run with a larger collector budget, which the runtime
        // reads only from the environment: this replaces the process once to put it there.
        Gen0Budget.ApplyByReplacingProcess(args);
        RootCommand root = new("Parley: a self-hostable encrypted messenger.\nEvery connection runs an authenticated Diffie-Hellman handshake (x25519, p256 or modp2048) and AEAD records (AES-256-GCM by default).");
        root.Subcommands.Add(ServerCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(PeerCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(IdCommand.Create());
        root.Subcommands.Add(KeygenCommand.Create());
        root.Subcommands.Add(KnownHostsCommand.CreateHosts());
        root.Subcommands.Add(KnownHostsCommand.CreatePeers());
        root.Subcommands.Add(new Command("version", "Show the version") { Action = new PrintVersionAction() });
        root.Options.Remove(root.Options.OfType<VersionOption>().Single());
        root.Options.Add(new VersionOption("--version", "-v") { Action = new PrintVersionAction() });
        if (args.Length == 0)
        {
            // Bare `parley` is bad usage (exit 2, README "Commands"): the usage goes to stderr.
            root.Parse("--help").Invoke(new InvocationConfiguration { Output = Console.Error });
            return ExitCodes.Usage;
        }
        args = ServerConfigFile.Expand(args, out string? configError);
        if (configError is not null)
        {
            Console.Error.WriteLine($"parley server: {configError}");
            return ExitCodes.Usage;
        }
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Bad usage has its own exit code (2), distinct from failures at run time.
            return UsageErrors.Report(parsed, root, args, Console.Error);
        }
        // The default 2 s termination timeout would end the process in the middle of the server's
        // graceful stop; give it the whole shutdown (both grace periods) and a margin to close the store.
        // The chat, though, ends at once on Ctrl-C: its prompts block on a read that cannot see the
        // cancellation, and its chat loop returns by itself within this time.
        TimeSpan termination = parsed.CommandResult.Command.Name is "chat" or "devices" ? ChatTerminationTimeout : ServerCommand.ProcessTerminationTimeout;
        return parsed.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = termination });
    }

    /// <summary>How long Ctrl-C waits for `parley chat` to finish on its own (its goodbye to the server takes at most 500 ms).</summary>
    private static readonly TimeSpan ChatTerminationTimeout = TimeSpan.FromMilliseconds(700);
}
