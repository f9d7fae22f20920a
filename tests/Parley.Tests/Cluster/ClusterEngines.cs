// Real PostgreSQL 15 and Redis for the cluster tests, from Debian's packages: started once per test
// run in temporary directories on free loopback ports, removed at the end. PostgreSQL refuses to run
// as root, so under root (CI) it runs as the `postgres` system user the package creates. No mocks:
// the contract suite and the two-node tests talk to these processes. Missing binaries skip the
// tests that need them with the reason (a developer machine); .ci/run installs them and fails
// if it cannot, so CI always runs them.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Parley.Tests.Cluster;

public sealed class ClusterEngines : IAsyncLifetime
{
    public const string PostgresBin = "/usr/lib/postgresql/15/bin";
    public const string RedisServer = "/usr/bin/redis-server";

    private static readonly bool s_asRoot = Environment.UserName == "root";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-engines-" + Guid.NewGuid().ToString("N"));
    private Process? _redis;
    private int _databases;

    public int PostgresPort { get; private set; }
    public int RedisPort { get; private set; }

    private string PostgresData => Path.Combine(_root, "pg");

    /// <summary>Why the engines cannot run here, or null when they can.</summary>
    public static string? Missing()
    {
        if (!File.Exists(Path.Combine(PostgresBin, "pg_ctl")))
        {
            return $"PostgreSQL 15 is not installed ({PostgresBin}/pg_ctl missing; apt-get install postgresql)";
        }
        if (!File.Exists(RedisServer))
        {
            return $"Redis is not installed ({RedisServer} missing; apt-get install redis-server)";
        }
        return null;
    }

    public async Task InitializeAsync()
    {
        if (Missing() is not null)
        {
            return;
        }
        Directory.CreateDirectory(_root);
        Directory.CreateDirectory(PostgresData);
        if (s_asRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _root]);
        }
        PostgresPort = FreePort();
        await RunPostgresToolAsync("initdb", "-D", PostgresData, "-U", "parley", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions");
        await StartPostgresAsync();
        RedisPort = FreePort();
        StartRedis();
        await WaitForRedisAsync();
    }

    /// <summary>Starts (or starts again) PostgreSQL on its port, waiting until it accepts connections.</summary>
    public Task StartPostgresAsync() =>
        // The test engine trades durability against a crash of PostgreSQL itself (never tested) for speed on a shared machine.
        RunPostgresToolAsync("pg_ctl", "-D", PostgresData, "-l", Path.Combine(PostgresData, "server.log"), "-w", "-t", "60",
            "-o", $"-p {PostgresPort} -k {PostgresData} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300",
            "start");

    /// <summary>Stops PostgreSQL (fast shutdown: sessions are cut, as in an outage).</summary>
    public Task StopPostgresAsync() => RunPostgresToolAsync("pg_ctl", "-D", PostgresData, "-m", "fast", "-w", "stop");

    /// <summary>A new, empty database; its connection string.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        string name = $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        // Not pooled: a pooled connection would be dead after a test stopped and started PostgreSQL.
        await using (NpgsqlConnection admin = new(new NpgsqlConnectionStringBuilder(ConnectionString("postgres")) { Pooling = false }.ConnectionString))
        {
            await admin.OpenAsync();
            await using NpgsqlCommand create = new($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = PostgresPort,
        Username = "parley",
        Database = database,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>The --store address of <paramref name="connectionString"/>'s database.</summary>
    public string StoreUrl(string connectionString) => $"postgres://parley@127.0.0.1:{PostgresPort}/{new NpgsqlConnectionStringBuilder(connectionString).Database}";

    /// <summary>A --bus address with a key prefix of its own, so tests sharing the Redis never see each other.</summary>
    public string NewBusUrl() => $"redis://127.0.0.1:{RedisPort}?prefix=t{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>Kills Redis (its data is gone: no persistence) and starts it again on the same port.</summary>
    public async Task RestartRedisAsync()
    {
        StopRedis();
        await StartRedisAsync();
    }

    /// <summary>Starts Redis again on its port (after <see cref="StopRedis"/>), empty.</summary>
    public async Task StartRedisAsync()
    {
        StartRedis();
        await WaitForRedisAsync();
    }

    private void StartRedis()
    {
        ProcessStartInfo start = new(RedisServer)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--port", RedisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", _root, "--protected-mode", "no" })
        {
            start.ArgumentList.Add(arg);
        }
        _redis = Process.Start(start)!;
        _redis.OutputDataReceived += (_, _) => { };
        _redis.ErrorDataReceived += (_, _) => { };
        _redis.BeginOutputReadLine();
        _redis.BeginErrorReadLine();
    }

    /// <summary>Kills Redis: its data is gone (no persistence), as in a crash.</summary>
    public void StopRedis()
    {
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            _redis.WaitForExit();
        }
        _redis?.Dispose();
        _redis = null;
    }

    private async Task WaitForRedisAsync()
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using TcpClient client = new();
                await client.ConnectAsync(IPAddress.Loopback, RedisPort);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task DisposeAsync()
    {
        StopRedis();
        if (Directory.Exists(Path.Combine(PostgresData, "global")))
        {
            try
            {
                await RunPostgresToolAsync("pg_ctl", "-D", PostgresData, "-m", "immediate", "-w", "stop");
            }
            catch (InvalidOperationException)
            {
                // Already stopped (a test stopped it and failed before starting it again).
            }
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task RunPostgresToolAsync(string tool, params string[] args) =>
        s_asRoot
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(PostgresBin, tool), .. args])
            : RunAsync(Path.Combine(PostgresBin, tool), args);

    private static async Task RunAsync(string file, string[] args)
    {
        ProcessStartInfo start = new(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // pg_ctl's postgres inherits the working directory; root's may be unreadable for postgres.
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        // pg_ctl start leaves postgres holding the pipes: read to the end only what the tool itself wrote.
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await error.WaitAsync(TimeSpan.FromSeconds(5))}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterEnginesCollection : ICollectionFixture<ClusterEngines>
{
    /// <summary>Every test that uses the engines is in this collection: they run one after another, so stopping PostgreSQL or Redis in one never disturbs another.</summary>
    public const string Name = "PostgreSQL and Redis";
}

/// <summary>A fact that needs PostgreSQL and Redis: skipped, with the reason, only where their binaries are missing.</summary>
public sealed class EnginesFactAttribute : FactAttribute
{
    public EnginesFactAttribute()
    {
        if (ClusterEngines.Missing() is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A test class whose tests need PostgreSQL and Redis (the contract suite's PostgreSQL half).</summary>
public interface INeedsClusterEngines;

/// <summary>
/// A fact of a suite run against several stores: skipped, with the reason, in a class that needs
/// the engines (<see cref="INeedsClusterEngines"/>) where their binaries are missing; run everywhere else.
/// </summary>
[Xunit.Sdk.XunitTestCaseDiscoverer("Parley.Tests.Cluster.StoreFactDiscoverer", "Parley.Tests")]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(Xunit.Abstractions.IMessageSink sink) : Xunit.Sdk.FactDiscoverer(sink)
{
    private readonly Xunit.Abstractions.IMessageSink _sink = sink;

    public override IEnumerable<Xunit.Sdk.IXunitTestCase> Discover(Xunit.Abstractions.ITestFrameworkDiscoveryOptions discoveryOptions,
        Xunit.Abstractions.ITestMethod testMethod, Xunit.Abstractions.IAttributeInfo factAttribute)
    {
        Type? testClass = testMethod.TestClass.Class.ToRuntimeType();
        if (testClass is not null && typeof(INeedsClusterEngines).IsAssignableFrom(testClass) && ClusterEngines.Missing() is { } reason)
        {
            return [new Xunit.Sdk.XunitSkippedDataRowTestCase(_sink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
                testMethod, reason)];
        }
        return base.Discover(discoveryOptions, testMethod, factAttribute);
    }
}
