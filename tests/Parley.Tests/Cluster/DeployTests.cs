using Parley.Tests.Support;

namespace Parley.Tests.Cluster;

/// <summary>
/// deploy/ (the three-node deployment) is checked, not just written: every configuration passes
/// `parley server --config FILE --check` through the real executable, the systemd unit is well
/// formed and starts a configuration that exists, and the compose file has its five services.
/// </summary>
public sealed class DeployTests
{
    private static string DeployDirectory
    {
        get
        {
            for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                string candidate = Path.Combine(directory.FullName, "deploy");
                if (File.Exists(Path.Combine(directory.FullName, "Parley.sln")) && Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
            throw new DirectoryNotFoundException("deploy/ beside Parley.sln");
        }
    }

    public static TheoryData<string> Configurations() => ["node1.conf", "node2.conf", "node3.conf", "compose-node.conf"];

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task Every_node_configuration_passes_the_servers_own_check(string name)
    {
        using TempDirectory temp = new();
        (int exit, string stdout, string stderr) = await ParleyProcess.RunAsync(temp.Path, "server", "--config", Path.Combine(DeployDirectory, name), "--check");
        Assert.True(exit == 0, $"{name}: exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains("[SERVER] Settings are valid", stdout);
        // A cluster node: a shared store and a bus, never the single-node default.
        Assert.Contains("store postgres://parley@", stdout);
        Assert.Contains("bus redis://", stdout);
    }

    [Fact]
    public async Task A_configuration_with_a_mistake_fails_the_check_with_its_line()
    {
        using TempDirectory temp = new();
        File.WriteAllText(temp.File("bad.conf"), "port = 5555\nthis line has no equals sign\n");
        (int exit, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "server", "--config", temp.File("bad.conf"), "--check");
        Assert.Equal(2, exit);
        Assert.Contains("bad.conf:2", stderr);

        File.WriteAllText(temp.File("bus-only.conf"), "bus = redis://localhost:6379\n");
        (int busExit, _, string busError) = await ParleyProcess.RunAsync(temp.Path, "server", "--config", temp.File("bus-only.conf"), "--check");
        Assert.Equal(2, busExit);
        Assert.Contains("--bus needs --store", busError);
    }

    [Fact]
    public void The_systemd_unit_is_well_formed_and_starts_a_configuration_that_exists()
    {
        Dictionary<string, Dictionary<string, string>> sections = [];
        Dictionary<string, string>? current = null;
        foreach (string raw in File.ReadAllLines(Path.Combine(DeployDirectory, "parley@.service")))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                sections[line[1..^1]] = current = [];
                continue;
            }
            Assert.True(current is not null, $"'{line}' is outside any section");
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            Assert.True(equals > 0, $"'{line}' is not Key=Value");
            current[line[..equals]] = line[(equals + 1)..];
        }
        Assert.Equal(["Install", "Service", "Unit"], sections.Keys.Order());
        Dictionary<string, string> service = sections["Service"];
        Assert.Equal("/opt/parley/parley server --config /etc/parley/%i.conf", service["ExecStart"]);
        Assert.Equal("parley", service["User"]);
        Assert.Equal("SIGTERM", service["KillSignal"]);
        Assert.Equal("multi-user.target", sections["Install"]["WantedBy"]);
        // %i is the instance: parley@node1 reads node1.conf, which is here.
        foreach (string node in new[] { "node1", "node2", "node3" })
        {
            Assert.True(File.Exists(Path.Combine(DeployDirectory, node + ".conf")), node);
        }
    }

    [Fact]
    public void The_compose_file_runs_three_nodes_on_one_postgresql_and_one_redis()
    {
        string compose = File.ReadAllText(Path.Combine(DeployDirectory, "compose.yaml"));
        string servicesBlock = compose[compose.IndexOf("\nservices:\n", StringComparison.Ordinal)..compose.IndexOf("\nvolumes:\n", StringComparison.Ordinal)];
        string[] services = [.. servicesBlock.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal) && !l.StartsWith("   ", StringComparison.Ordinal) && l.TrimEnd().EndsWith(':'))
            .Select(l => l.Trim().TrimEnd(':'))];
        Assert.Equal(["node1", "node2", "node3", "postgres", "redis"], services.Order());
        Assert.Equal(3, compose.Split("./compose-node.conf:/etc/parley/node.conf:ro").Length - 1);
        Assert.Equal(3, compose.Split("./identity/server-identity.key:/var/lib/parley/server-identity.key:ro").Length - 1);
        Assert.True(File.Exists(Path.Combine(DeployDirectory, "Dockerfile")));
    }
}
