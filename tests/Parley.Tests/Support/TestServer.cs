using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol.Handshake;
using Parley.Server.Hosting;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Tests.Support;

/// <summary>
/// A real server in-process on 127.0.0.1, port 0, with a temporary data directory. Fails the test
/// (MQTTnet's habit) if the server logged an error, a warning the test did not expect
/// (<see cref="ExpectWarnings"/>), or a task exception nobody observed.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly TempDirectory _data;
    private readonly RecordingLoggerFactory _loggers = new();

    private TestServer(TempDirectory data, ParleyServer server)
    {
        _data = data;
        Server = server;
    }

    public ParleyServer Server { get; private set; }

    /// <summary>Set by tests that provoke warnings on purpose (admission, flood, abuse); errors still fail.</summary>
    public bool ExpectWarnings { get; set; }

    /// <summary>Set by tests that break the store on purpose: every error logged must contain this, and any other still fails.</summary>
    public string? ExpectErrorsContaining { get; set; }

    private readonly ConcurrentQueue<string> _unobserved = new();

    private void OnUnobservedTaskException(object? sender, UnobservedTaskExceptionEventArgs e) =>
        _unobserved.Enqueue(e.Exception.ToString());

    public int Port => Server.LocalEndPoint.Port;

    public string Log => _loggers.All();

    public string DataDirectory => _data.Path;

    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null, TempDirectory? data = null)
    {
        data ??= new TempDirectory();
        ServerOptions options = new()
        {
            Port = 0,
            Host = "127.0.0.1",
            DataDirectory = Path.Combine(data.Path, "data"),
            // Fast password hashing for tests only; the server command always uses ≥ 600,000.
            PasswordIterations = 1000,
            MaxConnectionsPerAddress = 4096,
            // Tests connect many clients at once from 127.0.0.1; the admission tests set their own.
            HandshakesPerSecondPerSource = 1_000_000,
            HandshakeBurstPerSource = 1_000_000,
            MaxUnauthenticatedConnections = 4096,
            MaxUnauthenticatedPerSource = 4096,
            // Tests register many accounts from 127.0.0.1 at once; the limits have their own tests.
            RegistrationsPerMinute = 100_000,
            RegistrationsPerSourcePerHour = 100_000,
        };
        options = configure?.Invoke(options) ?? options;
        TestServer test = new(data, null!) { _options = options };
        TaskScheduler.UnobservedTaskException += test.OnUnobservedTaskException;
        test.Server = await ParleyServer.StartAsync(options, test._loggers);
        return test;
    }

    private ServerOptions _options = null!;

    /// <summary>Stops the server cleanly and starts it again on the same data.</summary>
    public async Task RestartAsync()
    {
        await Server.StopAsync();
        Server = await ParleyServer.StartAsync(_options, _loggers);
    }

    public ClientChannelOptions ClientOptions => new(new TrustAnyServer());

    public async Task<ChatClient> LoginAsync(string user, string password = "correct horse", Channel<ChatMessage>? inbox = null, long lastSeen = 0)
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", Port, ClientOptions).WithTimeout();
        client.LastSeenId = lastSeen;
        if (inbox is not null)
        {
            client.MessageHandler = message => inbox.Writer.WriteAsync(message);
        }
        LoginResult result = await client.LoginAsync(user, password, null).WithTimeout();
        Assert.True(result.Success, result.Error);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync();
        // Faulted tasks report as unobserved only when finalised.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TaskScheduler.UnobservedTaskException -= OnUnobservedTaskException;
        string errors = _loggers.Errors();
        string warnings = _loggers.Warnings();
        _data.Dispose();
        Assert.True(errors.Length == 0 || ExpectErrorsContaining is { } expected && _loggers.ErrorList().All(e => e.Contains(expected, StringComparison.Ordinal)),
            "the server logged errors:\n" + errors);
        Assert.True(ExpectWarnings || warnings.Length == 0, "the server logged warnings the test did not expect:\n" + warnings);
        Assert.True(_unobserved.IsEmpty, "unobserved task exceptions:\n" + string.Join('\n', _unobserved));
    }

    internal sealed class TrustAnyServer : IServerTrust
    {
        public ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TrustDecision.Accept("test"));
    }
}

public sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly ConcurrentQueue<string> _all = new();

    public string Errors() => string.Join('\n', _errors);

    public IReadOnlyList<string> ErrorList() => [.. _errors];

    public string Warnings() => string.Join('\n', _warnings);

    /// <summary>Everything logged at Information and above, for failure messages.</summary>
    public string All() => string.Join('\n', _all);

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner._all.Enqueue($"{logLevel}: {formatter(state, exception)}");
            if (logLevel == LogLevel.Warning)
            {
                owner._warnings.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
            }
            if (logLevel >= LogLevel.Error)
            {
                owner._errors.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
            }
        }
    }
}

public static class InboxExtensions
{
    public static Channel<ChatMessage> NewInbox() => Channel.CreateUnbounded<ChatMessage>();

    public static async Task<ChatMessage> NextAsync(this Channel<ChatMessage> inbox) =>
        await inbox.Reader.ReadAsync().AsTask().WithTimeout();

    public static string Text(this ChatMessage message) => System.Text.Encoding.UTF8.GetString(message.Body);
}
