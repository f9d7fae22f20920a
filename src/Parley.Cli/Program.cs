using System.CommandLine;
using Parley.Cli.Commands;

namespace Parley.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        RootCommand root = new("Parley: a self-hostable encrypted messenger.\nEvery connection runs an authenticated Diffie-Hellman handshake (x25519, p256 or modp2048) and AEAD records (AES-256-GCM by default).");
        root.Subcommands.Add(ServerCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(PeerCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(IdCommand.Create());
        root.Subcommands.Add(KeygenCommand.Create());
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Bad usage has its own exit code (2), distinct from failures at run time.
            foreach (System.CommandLine.Parsing.ParseError error in parsed.Errors)
            {
                Console.Error.WriteLine($"parley: {error.Message}");
            }
            Console.Error.WriteLine("Run 'parley --help' (or 'parley <command> --help') for usage.");
            return ExitCodes.Usage;
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
