using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>Issue 8.4 and 8.5: a quiet stop, and a failed start that leaves nothing behind.</summary>
public class ShutdownAndStartupTests
{
    private static ServerOptions Options(string dataDirectory, int port = 0) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        DataDirectory = dataDirectory,
        PasswordIterations = 1000,
    };

    [Fact]
    public async Task Stopping_with_a_connection_pending_logs_no_warning()
    {
        using TempDirectory temp = new();
        RecordingLoggerFactory loggers = new();
        ParleyServer server = await ParleyServer.StartAsync(Options(temp.File("data")), loggers);
        // One connection in its handshake and one waiting in the listen backlog.
        using TcpClient inHandshake = new();
        await inHandshake.ConnectAsync(IPAddress.Loopback, server.LocalEndPoint.Port);
        using TcpClient inBacklog = new();
        await inBacklog.ConnectAsync(IPAddress.Loopback, server.LocalEndPoint.Port);

        await server.StopAsync().WithTimeout();

        string log = loggers.All();
        Assert.Contains("Stopped", log);
        Assert.DoesNotContain("Warning", log);
        Assert.DoesNotContain("Error", log);
    }

    [Fact]
    public async Task A_start_on_a_busy_port_fails_clearly_and_creates_no_files()
    {
        using TempDirectory temp = new();
        using Socket busy = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        busy.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        busy.Listen();
        int port = ((IPEndPoint)busy.LocalEndPoint!).Port;
        string existing = temp.File("existing");
        Directory.CreateDirectory(existing);
        string fresh = temp.File("fresh");

        foreach (string data in new[] { existing, fresh })
        {
            SocketException error = await Assert.ThrowsAsync<SocketException>(() => ParleyServer.StartAsync(Options(data, port), new RecordingLoggerFactory()));
            Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(existing));
        Assert.False(Directory.Exists(fresh), "a failed start created the data directory");
    }

    [Fact]
    public void A_failed_start_removes_every_database_it_created_and_keeps_those_that_were_there()
    {
        using TempDirectory temp = new();
        string identity = temp.File("server-identity.key"), messages = temp.File("parley.db"), files = temp.File("files.db");
        File.WriteAllText(messages, "the operator's database");
        StartupFootprint footprint = StartupFootprint.Before(temp.Path, identity, messages, files);
        // What a start writes before it fails: an identity, the file store with its log.
        File.WriteAllText(identity, "new key");
        File.WriteAllText(files, "new");
        File.WriteAllText(files + "-wal", "new");
        Directory.CreateDirectory(files + "-inbox");
        File.WriteAllText(Path.Combine(files + "-inbox", "0000000001.log"), "new");

        footprint.Undo(NullLogger.Instance);

        Assert.Equal([messages], Directory.EnumerateFileSystemEntries(temp.Path));
        Assert.Equal("the operator's database", File.ReadAllText(messages));
    }

    [Fact]
    public async Task The_server_command_reports_a_busy_port_and_leaves_the_data_folder_empty()
    {
        using TempDirectory temp = new();
        using Socket busy = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        busy.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        busy.Listen();
        string port = ((IPEndPoint)busy.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Directory.CreateDirectory(temp.File("data"));

        (int exitCode, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "server", "--host", "127.0.0.1", "--port", port, "--data", "data").WithTimeout();

        Assert.Equal(1, exitCode);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.File("data")));
    }
}
