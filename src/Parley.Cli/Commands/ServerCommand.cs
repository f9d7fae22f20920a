using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Parley.Server.Accounts;
using Parley.Server.Hosting;

namespace Parley.Cli.Commands;

/// <summary><c>parley server</c>: runs the messenger server until Ctrl-C or SIGTERM.</summary>
internal static class ServerCommand
{
    internal static Command Create()
    {
        Option<string> host = new("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "localhost" };
        Option<int> port = new("--port", "-p") { Description = "TCP port (0 picks a free one)", DefaultValueFactory = _ => 5555 };
        Option<string> data = new("--data") { Description = "Data directory (database and server identity; created 0700)", DefaultValueFactory = _ => "parley-data" };
        Option<LogLevel> logLevel = new("--log-level") { Description = "Minimum level of log lines (written to stderr)", DefaultValueFactory = _ => LogLevel.Information };
        Option<int> perAddress = new("--max-connections-per-address") { Description = "Connections one address may hold (raise for load tests from one machine)", DefaultValueFactory = _ => 256 };
        Option<int> iterations = new("--password-iterations")
        {
            Description = "PBKDF2 iterations for new passwords (default 600000; lower only for load tests, never in production)",
            DefaultValueFactory = _ => PasswordHasher.RecommendedIterations,
        };
        Command command = new("server", "Run the Parley messenger server") { host, port, data, logLevel, perAddress, iterations };
        DeliveryLimitOptions deliveryLimits = new();
        deliveryLimits.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(deliveryLimits.Apply(result, new ServerOptions
        {
            Host = result.GetValue(host)!,
            Port = result.GetValue(port),
            DataDirectory = result.GetValue(data)!,
            MaxConnectionsPerAddress = result.GetValue(perAddress),
            PasswordIterations = result.GetValue(iterations),
        }), result.GetValue(logLevel), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ServerOptions options, LogLevel level, CancellationToken cancellationToken)
    {
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
        if (options.Port is < 0 or > 65535)
        {
            Console.Error.WriteLine($"parley server: --port must be 0-65535, not {options.Port}");
            return ExitCodes.Usage;
        }
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(level)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
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
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
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
            Console.WriteLine($"[SERVER] Identity {(server.CreatedIdentity ? "created" : "loaded")}: ed25519 {server.Fingerprint}");
            Console.WriteLine($"[SERVER] Data directory: {server.DataDirectory}");
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
