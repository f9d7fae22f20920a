using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol.Text;
using Parley.Server.Accounts;
using Parley.Server.Hosting;

namespace Parley.Cli.Commands;

/// <summary><c>parley server</c>: runs the messenger server until Ctrl-C or SIGTERM.</summary>
internal static class ServerCommand
{
    internal static Command Create()
    {
        Option<string> host = new("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "localhost" };
        Option<int> port = CommandLine.PortOption.WithDefault("--port", "TCP port (0 picks a free one)", 5555, allowZero: true, "-p");
        Option<string> data = new("--data") { Description = "Data directory (database and server identity; created 0700)", DefaultValueFactory = _ => "parley-data" };
        Option<LogLevel> logLevel = new("--log-level") { Description = "Minimum level of log lines (written to stderr, or --log-file)", DefaultValueFactory = _ => LogLevel.Information };
        Option<int> perAddress = new("--max-connections-per-address") { Description = "Connections one address may hold (raise for load tests from one machine)", DefaultValueFactory = _ => 256 };
        Option<int> iterations = new("--password-iterations")
        {
            Description = "PBKDF2 iterations for new passwords (default 600000; lower only for load tests, never in production)",
            DefaultValueFactory = _ => PasswordHasher.RecommendedIterations,
        };
        ServerOptions defaults = new();
        Option<string> groups = new("--groups")
        {
            Description = "Key agreement groups to accept, in order of preference (e.g. x25519,p256 to refuse the costly modp2048)",
            DefaultValueFactory = _ => string.Join(',', defaults.Groups.Select(g => g.Name)),
        };
        groups.Validators.Add(result =>
        {
            if (!TryParseGroups(result.GetValueOrDefault<string>(), out _, out string error))
            {
                result.AddError(error);
            }
        });
        Option<double> handshakeRate = new("--handshake-rate-per-address")
        {
            Description = "New connections (handshakes) per second one address (IPv4, or IPv6 /64) may open; raise for load tests from one machine",
            DefaultValueFactory = _ => defaults.HandshakesPerSecondPerSource,
        };
        Option<int> handshakeBurst = new("--handshake-burst-per-address")
        {
            Description = "New connections one address may open at once before the rate applies",
            DefaultValueFactory = _ => defaults.HandshakeBurstPerSource,
        };
        Option<int> maxUnauthenticated = new("--max-unauthenticated")
        {
            Description = "Connections that have not logged in yet, from all addresses together",
            DefaultValueFactory = _ => defaults.MaxUnauthenticatedConnections,
        };
        Option<int> maxUnauthenticatedPerAddress = new("--max-unauthenticated-per-address")
        {
            Description = "Connections that have not logged in yet, from one address",
            DefaultValueFactory = _ => defaults.MaxUnauthenticatedPerSource,
        };
        Option<int> tokenDays = new("--device-token-days")
        {
            Description = "A device token unused this many days stops working",
            DefaultValueFactory = _ => (int)DeviceTokens.DefaultExpireAfterUnused.TotalDays,
        };
        Option<int> maxDevices = new("--max-devices-per-account")
        {
            Description = "Device tokens one account may hold (a new one evicts the least recently used)",
            DefaultValueFactory = _ => DeviceTokens.DefaultMaxPerAccount,
        };
        Option<int> registrationsPerMinute = new("--registrations-per-minute")
        {
            Description = $"New accounts the server registers per minute (default {RegistrationLimiter.DefaultPerMinute}; raise for load tests)",
            DefaultValueFactory = _ => RegistrationLimiter.DefaultPerMinute,
        };
        Option<int> registrationsPerSource = new("--registrations-per-source-per-hour")
        {
            Description = $"New accounts one address (IPv6: one /64) may register per hour (default {RegistrationLimiter.DefaultPerSourcePerHour}; raise for load tests)",
            DefaultValueFactory = _ => RegistrationLimiter.DefaultPerSourcePerHour,
        };
        Option<int> hashThreads = new("--password-hash-threads")
        {
            Description = "Password checks (PBKDF2) run at once (default: cores - 1, at least 1)",
            DefaultValueFactory = _ => PasswordHasher.DefaultMaxConcurrent,
        };
        Option<string?> store = new("--store")
        {
            Description = "Shared store for several nodes: postgres://user[:password]@host[:port]/database (default: SQLite in --data)",
        };
        Option<string?> bus = new("--bus")
        {
            Description = "Bus between nodes for presence and routing: redis://[:password@]host[:port][?prefix=NAME] (needs --store)",
        };
        Option<string?> config = new("--config")
        {
            Description = "Read settings from FILE, one 'name = value' a line (flag names without '--'); flags given as well win",
        };
        Option<string?> cpu = CommandLine.CpuAffinity.CreateOption("the server");
        Option<bool> noTickets = new("--no-session-tickets")
        {
            Description = "Issue no session tickets: every connection runs the full handshake, signed by the server (PROTOCOL.md §5.8)",
        };
        Option<bool> check = new("--check") { Description = "Check the settings (and --config file) and exit without starting" };
        Command command = new("server", "Run the Parley messenger server")
        {
            host, port, data, logLevel, perAddress, iterations, groups, handshakeRate, handshakeBurst, maxUnauthenticated, maxUnauthenticatedPerAddress,
            tokenDays, maxDevices, registrationsPerMinute, registrationsPerSource, hashThreads, store, bus, config, noTickets, check, cpu,
        };
        WebServerOptions web = new();
        web.AddTo(command);
        DeliveryLimitOptions deliveryLimits = new();
        deliveryLimits.AddTo(command);
        FileLimitOptions fileLimits = new();
        fileLimits.AddTo(command);
        Logging.ServerLogOptions logs = new();
        logs.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            InlineSocketCompletions.TurnOn();
            // First, so every thread the server starts inherits the affinity.
            if (CommandLine.CpuAffinity.PinTo(result.GetValue(cpu), out int pinnedCpus) is string cpuError)
            {
                Console.Error.WriteLine($"parley server: {cpuError}");
                return Task.FromResult(ExitCodes.Usage);
            }
            InlineSocketCompletions.MatchEventThreadsTo(pinnedCpus);
            TryParseGroups(result.GetValue(groups), out IReadOnlyList<KeyAgreementAlgorithm> acceptedGroups, out _);
            return RunAsync(fileLimits.Apply(result, deliveryLimits.Apply(result, new ServerOptions
            {
                Web = web.Read(result),
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                DataDirectory = result.GetValue(data)!,
                MaxConnectionsPerAddress = result.GetValue(perAddress),
                PasswordIterations = result.GetValue(iterations),
                Groups = acceptedGroups,
                HandshakesPerSecondPerSource = result.GetValue(handshakeRate),
                HandshakeBurstPerSource = result.GetValue(handshakeBurst),
                MaxUnauthenticatedConnections = result.GetValue(maxUnauthenticated),
                MaxUnauthenticatedPerSource = result.GetValue(maxUnauthenticatedPerAddress),
                DeviceTokenExpiry = TimeSpan.FromDays(result.GetValue(tokenDays)),
                MaxDevicesPerAccount = result.GetValue(maxDevices),
                RegistrationsPerMinute = result.GetValue(registrationsPerMinute),
                RegistrationsPerSourcePerHour = result.GetValue(registrationsPerSource),
                MaxConcurrentPasswordHashes = result.GetValue(hashThreads),
                Store = result.GetValue(store),
                Bus = result.GetValue(bus),
                SessionTickets = !result.GetValue(noTickets),
            })), logs.Read(result, result.GetValue(logLevel)), result.GetValue(check), cancellationToken);
        });
        return command;
    }

    /// <summary>"x25519,p256" to groups; at least one, each known, none twice.</summary>
    internal static bool TryParseGroups(string? list, out IReadOnlyList<KeyAgreementAlgorithm> groups, out string error)
    {
        List<KeyAgreementAlgorithm> parsed = [];
        groups = parsed;
        error = "";
        foreach (string name in (list ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!KeyAgreementAlgorithms.TryGet(name, out KeyAgreementAlgorithm group))
            {
                error = $"--groups: unknown group '{UntrustedText.Sanitize(name, 40)}'; known: {string.Join(", ", KeyAgreementAlgorithms.All.Select(g => g.Name))}";
                return false;
            }
            if (parsed.Contains(group))
            {
                error = $"--groups: '{name}' is listed twice";
                return false;
            }
            parsed.Add(group);
        }
        if (parsed.Count == 0)
        {
            error = "--groups: name at least one group";
            return false;
        }
        return true;
    }

    /// <summary>What is wrong with --store and --bus, in words, or null.</summary>
    internal static string? ClusterSettingsError(ServerOptions options)
    {
        try
        {
            if (options.Store is not null)
            {
                Server.Storage.Postgres.PostgresAddress.ToConnectionString(options.Store);
            }
            if (options.Bus is not null)
            {
                Server.Cluster.BusAddress.Parse(options.Bus);
                if (options.Store is null)
                {
                    return "--bus needs --store: the nodes of a cluster share one PostgreSQL store";
                }
            }
            return null;
        }
        catch (FormatException e)
        {
            return (options.Bus is not null && e.Message.Contains("Redis", StringComparison.Ordinal) ? "--bus: " : "--store: ") + e.Message;
        }
    }

    /// <summary>How long System.CommandLine lets Ctrl-C/SIGTERM handling run before it ends the process: past <c>[SERVER] Stopped</c>.</summary>
    internal static readonly TimeSpan ProcessTerminationTimeout = (ServerOptions.DefaultShutdownGracePeriod * 2) + TimeSpan.FromSeconds(10);

    private static async Task<int> RunAsync(ServerOptions options, Logging.ServerLogSettings logs, bool checkOnly, CancellationToken cancellationToken)
    {
        if (ClusterSettingsError(options) is { } clusterError)
        {
            Console.Error.WriteLine($"parley server: {clusterError}");
            return ExitCodes.Usage;
        }
        if (options.PasswordIterations < 1000)
        {
            Console.Error.WriteLine("parley server: --password-iterations must be at least 1000");
            return ExitCodes.Usage;
        }
        if (options.PasswordIterations < PasswordHasher.RecommendedIterations)
        {
            Console.Error.WriteLine($"parley server: WARNING: new passwords are hashed with only {options.PasswordIterations} PBKDF2 iterations " +
                $"(recommended {PasswordHasher.RecommendedIterations}). Use this for load tests only, never in production.");
        }
        if (options.HandshakesPerSecondPerSource <= 0 || options.HandshakeBurstPerSource < 1 || options.MaxUnauthenticatedConnections < 1 || options.MaxUnauthenticatedPerSource < 1)
        {
            Console.Error.WriteLine("parley server: the handshake rate, burst and unauthenticated-connection limits must be positive");
            return ExitCodes.Usage;
        }
        if (options.DeviceTokenExpiry <= TimeSpan.Zero || options.MaxDevicesPerAccount < 1)
        {
            Console.Error.WriteLine("parley server: --device-token-days and --max-devices-per-account must be at least 1");
            return ExitCodes.Usage;
        }
        if (options.RegistrationsPerMinute < 1 || options.RegistrationsPerSourcePerHour < 1 || options.MaxConcurrentPasswordHashes < 1)
        {
            Console.Error.WriteLine("parley server: --registrations-per-minute, --registrations-per-source-per-hour and --password-hash-threads must be at least 1");
            return ExitCodes.Usage;
        }
        if (options.Web is { Port: < 0 or > 65535 })
        {
            Console.Error.WriteLine($"parley server: --web-port must be 0-65535, not {options.Web.Port}");
            return ExitCodes.Usage;
        }
        if (options.Port is < 0 or > 65535)
        {
            Console.Error.WriteLine($"parley server: --port must be 0-65535, not {options.Port}");
            return ExitCodes.Usage;
        }
        if (checkOnly)
        {
            Console.WriteLine($"[SERVER] Settings are valid: listen on {options.Host}:{options.Port}, data {Path.GetFullPath(options.DataDirectory)}, " +
                $"store {(options.Store is null ? "SQLite in the data directory" : Server.Storage.Postgres.PostgresAddress.Describe(Server.Storage.Postgres.PostgresAddress.ToConnectionString(options.Store)))}, " +
                $"bus {(options.Bus is null ? "none (one node)" : Server.Cluster.BusAddress.Parse(options.Bus).Describe())}");
            return ExitCodes.Success;
        }
        ILoggerFactory loggers;
        try
        {
            loggers = logs.CreateFactory();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"parley server: cannot open the log file: {e.Message}");
            return ExitCodes.Failure;
        }
        using ILoggerFactory disposeLoggers = loggers;
        using CancellationTokenSource stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        ParleyServer server;
        try
        {
            server = await ParleyServer.StartAsync(options, loggers, stop.Token);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            Console.Error.WriteLine($"parley server: cannot listen on {options.Host}:{options.Port}: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException
            or Parley.Server.Cluster.ClusterVersionException)
        {
            Console.Error.WriteLine($"parley server: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (ArgumentException e)
        {
            // A delivery or storage bound out of range (ServerOptions checks them before anything is created).
            Console.Error.WriteLine($"parley server: {e.Message}");
            return ExitCodes.Usage;
        }
        await using (server)
        {
            Console.WriteLine($"[SERVER] Started on {options.Host}:{server.LocalEndPoint.Port}");
            Console.WriteLine($"[SERVER] Identity {(server.CreatedIdentity ? "created" : "loaded")}: {server.IdentityAlgorithm} {server.Fingerprint}");
            Console.WriteLine($"[SERVER] Data directory: {server.DataDirectory}");
            if (options.Store is { } sharedStore)
            {
                Console.WriteLine($"[SERVER] Store: {Server.Storage.Postgres.PostgresAddress.Describe(Server.Storage.Postgres.PostgresAddress.ToConnectionString(sharedStore))}");
            }
            if (options.Bus is { } bus && server.NodeId is { } node)
            {
                Console.WriteLine($"[SERVER] Cluster node {node} on {Server.Cluster.BusAddress.Parse(bus).Describe()}");
            }
            if (server.WebUrl is { } webUrl)
            {
                Console.WriteLine($"[SERVER] Web client on {webUrl}");
            }
            Console.WriteLine("[SERVER] Waiting for connections...");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            Console.WriteLine("[SERVER] Shutting down...");
            await server.StopAsync();
            Console.WriteLine("[SERVER] Stopped");
        }
        return ExitCodes.Success;
    }
}
