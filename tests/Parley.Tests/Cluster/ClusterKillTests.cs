using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cluster;

/// <summary>
/// Two real `parley server` processes on one PostgreSQL and one Redis, sharing one identity file
/// (as deploy/ says): kill -9 one under load, its clients reconnect to the other (`--host` given
/// twice), and no acknowledged message is lost or delivered twice.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed partial class ClusterKillTests(ClusterEngines engines)
{
    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortPattern();

    private static async Task<(ParleyProcess Server, int Port)> StartNodeAsync(TempDirectory temp, string data, string store, string bus)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--host", "127.0.0.1", "--port", "0", "--data", data,
            "--store", store, "--bus", bus, "--password-iterations", "1000");
        string started = await server.WaitForLineAsync("[SERVER] Started on");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return (server, int.Parse(PortPattern().Match(started).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static ParleyProcess StartChat(TempDirectory temp, string user, params int[] ports)
    {
        File.WriteAllText(temp.File($"{user}.password"), $"{user}'s long passphrase\n");
        Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File("home-" + user) };
        List<string> args = ["chat", "--user", user, "--password-file", temp.File($"{user}.password"), "--trust-new", "--register"];
        foreach (int port in ports)
        {
            args.AddRange(["--host", $"127.0.0.1:{port}"]);
        }
        return ParleyProcess.Start(temp.Path, environment, [.. args]);
    }

    [EnginesFact]
    public async Task Killing_a_node_under_load_moves_its_clients_to_the_other_and_loses_or_repeats_no_acknowledged_message()
    {
        // After the 40th acknowledgement the node dies; what is still unsent waits in the chat's offline
        // queue, which holds 100 lines (a bound of its own): 120 keeps that under it, so END is taken too.
        const int messages = 120;
        using TempDirectory temp = new();
        string store = engines.StoreUrl(await engines.NewDatabaseAsync());
        string bus = engines.NewBusUrl();
        (ParleyProcess one, int portOne) = await StartNodeAsync(temp, "node1", store, bus);
        // The nodes of a cluster share one server identity: the file is copied to each node (deploy/README.md).
        Directory.CreateDirectory(temp.File("node2"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Copy(Path.Combine(temp.File("node1"), "server-identity.key"), Path.Combine(temp.File("node2"), "server-identity.key"));
        (ParleyProcess two, int portTwo) = await StartNodeAsync(temp, "node2", store, bus);
        await using (two)
        {
            // Alice on node 2, bob on node 1: every message crosses the bus until node 1 dies.
            await using ParleyProcess alice = StartChat(temp, "alice", portTwo, portOne);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await using ParleyProcess bob = StartChat(temp, "bob", portOne, portTwo);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            // Carol knows only node 1: when it dies she is offline everywhere once its entry expires.
            await using ParleyProcess carol = StartChat(temp, "carol", portOne);
            await carol.WaitForLineAsync("[CLIENT] Authenticated as carol");
            await bob.WriteLineAsync("list");
            Assert.Equal("[ONLINE USERS] alice, bob, carol", (await bob.WaitForLineAsync("[ONLINE USERS]")).Trim());

            Task writer = Task.Run(async () =>
            {
                for (int i = 0; i < messages; i++)
                {
                    await bob.WriteLineAsync($"send alice msg-{i}");
                }
            });
            for (int i = 0; i < 40; i++)
            {
                // Receipts are [STATUS] lines too (alice received …): count only the acknowledgements.
                await bob.WaitForLineAsync("[STATUS] Message delivered to alice");
            }
            one.Kill();
            await one.WaitForExitAsync();
            await one.DisposeAsync();
            await writer;

            await bob.WaitForLineAsync($"[CLIENT] Reconnected to 127.0.0.1:{portTwo} as bob");
            await bob.WriteLineAsync("send alice END");
            await alice.WaitForLineAsync("From bob: END");
            // Bob is now on node 2 with alice: the cluster-wide list still has both. Its reply comes
            // after END's status (one connection, in order), so the count below is complete.
            await bob.WriteLineAsync("list");
            await bob.WaitForLineAsync("[ONLINE USERS]");

            string bobOut = bob.Stdout;
            int lost = bobOut.IndexOf("[CLIENT] Connection lost", StringComparison.Ordinal);
            Assert.True(lost > 0, bobOut);
            // Commands are handled in order: before the connection was lost, the k-th status acknowledges msg-(k-1).
            int acknowledgedBeforeKill = Regex.Matches(bobOut[..lost], @"\[STATUS\] Message delivered to alice").Count;
            Assert.True(acknowledgedBeforeKill >= 40, bobOut);
            // After it: the waiting messages sent on node 2, then END.
            int acknowledgedAfter = Regex.Matches(bobOut[lost..], @"\[STATUS\] Message delivered to alice").Count - 1;

            string[] received = [.. alice.Stdout.Split('\n').Select(l => l.Trim()).Where(l => l.Contains("From bob: msg-", StringComparison.Ordinal))];
            for (int i = 0; i < acknowledgedBeforeKill; i++)
            {
                int copies = received.Count(l => l.EndsWith($"From bob: msg-{i}", StringComparison.Ordinal));
                Assert.True(copies == 1, $"msg-{i} (acknowledged) arrived {copies} times.\n--- bob ---\n{bobOut}\n--- alice ---\n{alice.Stdout}");
            }
            // Nothing twice, acknowledged or not; order kept; and every message acknowledged after the move arrived too.
            Assert.Equal(received.Length, received.Distinct().Count());
            int[] numbers = [.. received.Select(l => int.Parse(l[(l.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture))];
            Assert.Equal(numbers.Order(), numbers);
            Assert.True(received.Length >= acknowledgedBeforeKill + acknowledgedAfter, $"--- bob ---\n{bobOut}\n--- alice ---\n{alice.Stdout}");

            // The dead node's presence entry expires (10 s after its last heartbeat) and a live node
            // removes its users: carol leaves the cluster-wide list; bob, now on node 2, stays.
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            string users;
            do
            {
                Assert.True(DateTime.UtcNow < deadline, "carol was still listed a minute after her node died");
                await Task.Delay(500);
                await bob.WriteLineAsync("list");
                users = (await bob.WaitForLineAsync("[ONLINE USERS]")).Trim();
            }
            while (users.Contains("carol", StringComparison.Ordinal));
            Assert.Equal("[ONLINE USERS] alice, bob", users);
        }
    }
}
