using System.Net;
using System.Net.Sockets;

namespace Parley.Tests.Support;

/// <summary>A TCP listener on 127.0.0.1, port 0, and helpers to get connected stream pairs.</summary>
public sealed class Loopback : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public Loopback() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string HostPort => $"127.0.0.1:{Port}";

    public async Task<(NetworkStream Client, NetworkStream Server)> ConnectAsync()
    {
        TcpClient client = new();
        Task<TcpClient> accept = _listener.AcceptTcpClientAsync();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        TcpClient server = await accept;
        return (client.GetStream(), server.GetStream());
    }

    public void Dispose() => _listener.Stop();
}

public static class TestTimeouts
{
    /// <summary>Generous: tests wait for events, and this only bounds a hang.</summary>
    public static readonly TimeSpan Event = TimeSpan.FromSeconds(30);

    public static async Task<T> WithTimeout<T>(this Task<T> task) => await task.WaitAsync(Event);

    public static async Task WithTimeout(this Task task) => await task.WaitAsync(Event);

    /// <summary>
    /// Looks again until <paramref name="condition"/> holds, failing after <see cref="Event"/>: for a
    /// state no event announces (a count inside the server), never for a fixed wait.
    /// </summary>
    public static Task UntilAsync(Func<bool> condition) => UntilAsync(() => Task.FromResult(condition()));

    /// <inheritdoc cref="UntilAsync(Func{bool})"/>
    public static async Task UntilAsync(Func<Task<bool>> condition)
    {
        DateTime deadline = DateTime.UtcNow + Event;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(10);
        }
    }
}

public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "parley-test-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
