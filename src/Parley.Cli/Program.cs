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
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(IdCommand.Create());
        root.Subcommands.Add(KeygenCommand.Create());
        return root.Parse(args).Invoke();
    }
}
