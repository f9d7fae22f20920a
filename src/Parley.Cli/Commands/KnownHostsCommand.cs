// `parley known-hosts [list | remove HOST[:PORT]]` and `parley known-peers [list | remove NAME]`:
// the trust-on-first-use files shown by fingerprint (SHA256:…, as the trust question shows it)
// rather than as raw base64, and an entry forgotten the way `ssh-keygen -R` does, so a
// legitimately changed key can be accepted again without editing the file by hand.
using System.CommandLine;
using Parley.Client;
using Parley.Peer;
using Parley.Protocol.Text;
using Parley.Transport.Trust;

namespace Parley.Cli.Commands;

internal static class KnownHostsCommand
{
    internal static Command CreateHosts()
    {
        Option<string?> file = new("--known-hosts") { Description = "known_hosts file (default: $PARLEY_HOME/known_hosts, ~/.parley/known_hosts)" };
        Command list = new("list", "List the servers you trust, with their key fingerprints") { file };
        list.SetAction(result => Run("known-hosts", home => Hosts(home, result.GetValue(file)), entries => List(entries)));
        Argument<string> target = new("HOST[:PORT]") { Description = "The server to forget: host:port exactly, or a host (every port)" };
        Command remove = new("remove", "Forget a server's key (like ssh-keygen -R), so the next connection asks again") { target, file };
        remove.SetAction(result =>
        {
            string name = result.GetValue(target)!;
            return Run("known-hosts", home => Hosts(home, result.GetValue(file)), trust => Remove(trust, name, entry => Matches(entry, name)));
        });
        Command command = new("known-hosts", "Show or edit the servers you trust (known_hosts)") { list, remove, file };
        command.SetAction(result => Run("known-hosts", home => Hosts(home, result.GetValue(file)), entries => List(entries)));
        return command;
    }

    internal static Command CreatePeers()
    {
        Command list = new("list", "List the peers you trust, with their key fingerprints");
        list.SetAction(_ => Run("known-peers", Peers, entries => List(entries)));
        Argument<string> target = new("NAME") { Description = "The peer whose pinned key to forget" };
        Command remove = new("remove", "Forget a peer's key, so the next session with that name asks again") { target };
        remove.SetAction(result =>
        {
            string name = result.GetValue(target)!;
            return Run("known-peers", Peers, trust => Remove(trust, name, entry => string.Equals(entry, name, StringComparison.OrdinalIgnoreCase)));
        });
        Command command = new("known-peers", "Show or edit the peers you trust (known_peers)") { list, remove };
        command.SetAction(_ => Run("known-peers", Peers, entries => List(entries)));
        return command;
    }

    /// <summary>An exact host:port, or a bare host meaning every port it was trusted on.</summary>
    internal static bool Matches(string entry, string target)
    {
        if (string.Equals(entry, target, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        int colon = entry.LastIndexOf(':');
        return colon > 0 && string.Equals(entry[..colon].Trim('[', ']'), target.Trim('[', ']'), StringComparison.OrdinalIgnoreCase);
    }

    private static KnownHostsFile Hosts(ParleyHome home, string? file) => new(file ?? home.KnownHostsPath);

    // known_peers has the same format; KnownHostsFile reads and edits it (KnownPeersFile wraps it for lookups).
    private static KnownHostsFile Peers(ParleyHome home) => new(new KnownPeersFile(home.KnownPeersPath).Path);

    private static int Run(string command, Func<ParleyHome, KnownHostsFile> open, Func<KnownHostsFile, int> action)
    {
        try
        {
            return action(open(ParleyHome.Default()));
        }
        catch (ParleyHomeException e)
        {
            Console.Error.WriteLine($"parley {command}: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"parley {command}: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static int List(KnownHostsFile file)
    {
        IReadOnlyList<KnownHostEntry> entries = file.Entries();
        if (entries.Count == 0)
        {
            Console.WriteLine($"No entries in {file.Path}");
            return ExitCodes.Success;
        }
        int width = entries.Max(e => Show(e.Name).Length);
        foreach (KnownHostEntry entry in entries)
        {
            Console.WriteLine($"{Show(entry.Name).PadRight(width)}  {Describe(entry)}");
        }
        return ExitCodes.Success;
    }

    private static int Remove(KnownHostsFile file, string target, Func<string, bool> matches)
    {
        IReadOnlyList<KnownHostEntry> removed = file.Remove(matches);
        if (removed.Count == 0)
        {
            Console.Error.WriteLine($"No entry for '{Show(target)}' in {file.Path}");
            return ExitCodes.Failure;
        }
        foreach (KnownHostEntry entry in removed)
        {
            Console.WriteLine($"Removed '{Show(entry.Name)}' ({Describe(entry)}) from {file.Path} (line {entry.LineNumber})");
        }
        return ExitCodes.Success;
    }

    // The file is the user's own, but it is text from outside the program all the same.
    private static string Show(string text) => UntrustedText.Sanitize(text, 100);

    private static string Describe(KnownHostEntry entry) =>
        $"{Show(entry.Algorithm)} {entry.Fingerprint ?? "(key does not decode)"}";
}
