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
    public async Task A_server_pinned_to_one_cpu_has_one_socket_event_thread() =>
        Assert.Equal(1, await EventThreadsOfServerAsync(environment: null, cpus: "0", atLeast: 1));

    [LinuxFact]
    public async Task A_count_in_the_environment_wins_over_the_pinned_cpus()
    {
        Dictionary<string, string> chosen = new() { ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "2" };

        Assert.Equal(2, await EventThreadsOfServerAsync(chosen, cpus: "0", atLeast: 2));
    }

    [LinuxFact]
    public async Task Without_inline_completions_the_runtime_default_is_left_alone()
    {
        // Then the runtime starts few event threads (one per 30 CPUs on x64) that hand each event to
        // the pool; pinning must not change how many.
        Dictionary<string, string> off = new() { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "0" };
        int unpinned = await EventThreadsOfServerAsync(off, cpus: null, atLeast: 1);

        Assert.Equal(unpinned, await EventThreadsOfServerAsync(off, cpus: System.Environment.ProcessorCount > 1 ? "0-1" : "0", atLeast: unpinned));
    }

    /// <summary>Starts the real server (pinned to <paramref name="cpus"/> unless null) and counts its socket event threads.</summary>
    private static async Task<int> EventThreadsOfServerAsync(IReadOnlyDictionary<string, string>? environment, string? cpus, int atLeast)
    {
        using TempDirectory temp = new();
        string[] args = cpus is null ? ["server", "--port", "0", "--data", "data"] : ["server", "--port", "0", "--data", "data", "--cpu", cpus];
        await using ParleyProcess server = ParleyProcess.Start(temp.Path, environment, args);
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return await EventThreadsOnceStartedAsync(server.ProcessId, atLeast);
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
