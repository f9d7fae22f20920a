using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>`parley peer` ended by Ctrl-C, and its help for two identities on one machine (issue 14).</summary>
public partial class PeerLeavingTests
{
    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private const int Sigint = 2;

    [Fact]
    public async Task Ctrl_C_tells_the_other_side_and_exits_0()
    {
        using TempDirectory temp = new();
        // Two identities on one machine, each in its own folder given with --home.
        await using ParleyProcess alice = ParleyProcess.Start(temp.Path, null, "peer", "--home", temp.File("alice"), "--name", "alice", "--trust-new", "--listen", "0");
        string port = PortLine().Match(await alice.WaitForLineAsync("[*] Listening on port")).Groups[1].Value;
        await using ParleyProcess bob = ParleyProcess.Start(temp.Path, null, "peer", "--home", temp.File("bob"), "--name", "bob", "--trust-new", "--connect", $"127.0.0.1:{port}");
        await bob.WaitForLineAsync("[*] Secure session with alice");
        await alice.WaitForLineAsync("[*] Secure session with bob");
        Assert.Contains("Permanently added 'alice' (ed25519) to the list of known peers.", bob.Stdout);

        Assert.Equal(0, Kill(alice.ProcessId, Sigint));
        try
        {
            await bob.WaitForLineAsync("[*] alice left the chat.");
        }
        catch (TimeoutException e)
        {
            // What the leaving side said is the half of the story bob cannot tell.
            throw new TimeoutException($"{e.Message}\n--- alice's stdout ---\n{alice.Stdout}\n--- alice's stderr ---\n{alice.Stderr}\n--- alice's signals ---\n{SignalState(alice.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))}\n--- this test process ---\n{SignalState("self")}", e);
        }
        Assert.Equal(0, await alice.WaitForExitAsync());
        Assert.Equal(0, await bob.WaitForExitAsync());
        Assert.True(File.Exists(temp.File("alice/identity.key")) && File.Exists(temp.File("bob/identity.key")));
    }

    [Fact]
    public async Task The_help_explains_two_identities_on_one_machine()
    {
        using TempDirectory temp = new();
        (int code, string stdout, _) = await ParleyProcess.RunAsync(temp.Path, "peer", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--home", stdout);
        Assert.Contains("PARLEY_HOME", stdout);
        Assert.Contains("two people on one machine", stdout);
    }

    /// <summary>Which signals the process blocks, ignores and catches (from /proc), to tell a lost SIGINT from a hang.</summary>
    private static string SignalState(string pid)
    {
        try
        {
            return string.Join("\n", File.ReadAllLines($"/proc/{pid}/status").Where(l => l.StartsWith("Sig", StringComparison.Ordinal) || l.StartsWith("Shd", StringComparison.Ordinal) || l.StartsWith("State", StringComparison.Ordinal)));
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    [GeneratedRegex(@"port (\d+)")]
    private static partial Regex PortLine();
}
