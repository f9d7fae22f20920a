using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>
/// `parley server --cpu LIST` starts one socket event thread per CPU it is pinned to, not one per
/// CPU of the machine (decision 0028); a count the user put in the environment wins.
/// </summary>
public class ServerEventThreadsTests
{
    private const string EventThreadName = ".NET Sockets";

    [LinuxFact]
    public async Task A_server_pinned_to_one_cpu_has_one_socket_event_thread()
    {
        using TempDirectory temp = new();
        await using ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--port", "0", "--data", "data", "--cpu", "0");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");

        Assert.Equal(1, await EventThreadsOnceStartedAsync(server.ProcessId, atLeast: 1));
    }

    [LinuxFact]
    public async Task A_count_in_the_environment_wins_over_the_pinned_cpus()
    {
        using TempDirectory temp = new();
        Dictionary<string, string> chosen = new() { ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "2" };
        await using ParleyProcess server = ParleyProcess.Start(temp.Path, chosen, "server", "--port", "0", "--data", "data", "--cpu", "0");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");

        Assert.Equal(2, await EventThreadsOnceStartedAsync(server.ProcessId, atLeast: 2));
    }

    [LinuxFact]
    public async Task Without_inline_completions_the_runtime_default_is_left_alone()
    {
        // Then the runtime starts few event threads (one per 30 CPUs on x64) that hand each event to
        // the pool; pinning must not change how many.
        using TempDirectory temp = new();
        Dictionary<string, string> off = new() { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "0" };
        string cpus = System.Environment.ProcessorCount > 1 ? "0-1" : "0";
        int unpinned;
        await using (ParleyProcess server = ParleyProcess.Start(temp.Path, off, "server", "--port", "0", "--data", "unpinned"))
        {
            await server.WaitForLineAsync("[SERVER] Waiting for connections...");
            unpinned = await EventThreadsOnceStartedAsync(server.ProcessId, atLeast: 1);
        }
        await using ParleyProcess pinned = ParleyProcess.Start(temp.Path, off, "server", "--port", "0", "--data", "pinned", "--cpu", cpus);
        await pinned.WaitForLineAsync("[SERVER] Waiting for connections...");

        Assert.Equal(unpinned, await EventThreadsOnceStartedAsync(pinned.ProcessId, atLeast: unpinned));
    }

    /// <summary>
    /// The runtime starts all of its event threads together, when the listener first waits for a
    /// connection, and each names itself as it starts: this waits until <paramref name="atLeast"/>
    /// have appeared in /proc (or 30 s have passed), then counts them.
    /// </summary>
    private static async Task<int> EventThreadsOnceStartedAsync(int processId, int atLeast)
    {
        DateTime giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            int count = Directory.EnumerateDirectories($"/proc/{processId}/task").Count(task => ThreadName(task) == EventThreadName);
            if (count >= atLeast || DateTime.UtcNow > giveUp)
            {
                return count;
            }
            await Task.Delay(20);
        }
    }

    private static string? ThreadName(string taskDirectory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(taskDirectory, "comm")).TrimEnd('\n');
        }
        catch (IOException)
        {
            return null; // the thread ended meanwhile
        }
    }
}
