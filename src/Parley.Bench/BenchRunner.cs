// The load generator behind `parley bench`: real clients (the same ChatClient as `parley chat`)
// over real sockets, against a running server. Every message carries its sender, a sequence
// number and the send time, so the run can prove exactly-once delivery and measure latency with
// one clock (senders and receivers live in this process).
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol.Handshake;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Bench;

public sealed partial class BenchRunner(BenchOptions options, Action<string>? progress = null)
{
    private const string ContentType = "application/x-parley-bench";
    private const int HeaderSize = 16;

    private ClientLogin _login = null!;
    private readonly ConcurrentDictionary<long, byte> _received = new();
    private readonly LatencyRecorder _latency = new();
    private long _sent;
    private long _acknowledged;
    private long _delivered;
    private long _duplicates;
    private long _sendErrors;
    private long _loginErrors;

    private string UserName(int index) => $"{options.UserPrefix}-{index}";

    private string Password(int index) => $"{options.UserPrefix}-password-{index}";

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken = default)
    {
        if (options.Size < HeaderSize)
        {
            throw new ArgumentException($"--size must be at least {HeaderSize} bytes (the benchmark's own header).");
        }
        DirectoryInfo? temporaryHome = options.HomePath is null ? Directory.CreateTempSubdirectory("parley-bench-") : null;
        // The bench counts and de-duplicates messages itself: no last-seen file written per message.
        _login = new ClientLogin(new ParleyHome(options.HomePath ?? temporaryHome!.FullName)) { KeepsLastSeen = false };
        try
        {
            await EnsureAccountsAsync(options.Clients, cancellationToken).ConfigureAwait(false);
            return options.Scenario switch
            {
                BenchScenario.Messages => await MessagesAsync(cancellationToken).ConfigureAwait(false),
                BenchScenario.Burst => await BurstAsync(cancellationToken).ConfigureAwait(false),
                BenchScenario.Idle => await IdleAsync(cancellationToken).ConfigureAwait(false),
                _ => throw new ArgumentOutOfRangeException(nameof(options)),
            };
        }
        finally
        {
            temporaryHome?.Delete(recursive: true);
        }
    }

    // ── accounts and logins ──

    /// <summary>Registers the accounts that have no saved token for this server key (password login, PBKDF2 on the server), once.</summary>
    private async Task EnsureAccountsAsync(int count, CancellationToken cancellationToken)
    {
        int[] missing;
        // Tokens belong to a server key: learn it (and drop the tokens of a key this host:port had before).
        await using (ChatClient probe = await ConnectAsync(0, cancellationToken).ConfigureAwait(false))
        {
            _login.RecordServerKey(probe, options.Host, options.Port);
            missing = Enumerable.Range(0, count).Where(i => !_login.HasToken(probe, UserName(i))).ToArray();
            await probe.CloseAsync().ConfigureAwait(false);
        }
        if (missing.Length == 0)
        {
            return;
        }
        progress?.Invoke($"[bench] registering {missing.Length} accounts (password logins; later runs reuse device tokens)");
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount * 2), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                await using ChatClient client = await ConnectAsync(i, ct).ConfigureAwait(false);
                LoginResult result = (await LoginAsync(client, i, ct).ConfigureAwait(false)).Result!;
                if (!result.Success)
                {
                    string hint = result.Code == ErrorCodes.RegistrationLimited
                        ? " (for benchmarks, start the server with --registrations-per-minute and --registrations-per-source-per-hour raised)"
                        : "";
                    throw new InvalidOperationException($"cannot log in as {UserName(i)}: {Parley.Protocol.Text.UntrustedText.Sanitize(result.Error)}{hint}");
                }
                await client.CloseAsync().ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    /// <summary>The same policy as `parley chat`: the saved token, else the account's password (whose token is then saved).</summary>
    private Task<LoginOutcome> LoginAsync(ChatClient client, int index, CancellationToken cancellationToken) =>
        _login.LoginAsync(client, UserName(index), _ => ValueTask.FromResult<string?>(Password(index)), cancellationToken);

    /// <summary>Client <paramref name="index"/> connects to node index mod n (the nodes must share one server key: device tokens belong to it).</summary>
    private async Task<ChatClient> ConnectAsync(int index, CancellationToken cancellationToken) =>
        await ChatClient.ConnectAsync(options.Nodes[index % options.Nodes.Count].Host, options.Nodes[index % options.Nodes.Count].Port,
            new ClientChannelOptions(new BenchTrust(options.Fingerprint))
        {
            Handshake = new ClientHandshakeOptions { Groups = [options.Group] },
            Tickets = TicketsFor(index),
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>Connects and logs in many clients at once with device tokens; returns them and the storm's duration.</summary>
    private async Task<(ChatClient?[] Clients, double Seconds)> LoginStormAsync(int[] indexes, Func<int, Func<ChatMessage, ValueTask>?> handler, CancellationToken cancellationToken)
    {
        ChatClient?[] clients = new ChatClient?[options.Clients];
        Stopwatch clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(indexes, new ParallelOptions { MaxDegreeOfParallelism = options.LoginConcurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    ChatClient client = await ConnectAsync(i, ct).ConfigureAwait(false);
                    client.MessageHandler = handler(i);
                    if (!(await LoginAsync(client, i, ct).ConfigureAwait(false)).Success)
                    {
                        Interlocked.Increment(ref _loginErrors);
                        await client.DisposeAsync().ConfigureAwait(false);
                        return;
                    }
                    clients[i] = client;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _loginErrors);
                }
            }).ConfigureAwait(false);
        return (clients, clock.Elapsed.TotalSeconds);
    }

    // ── scenarios ──

    private async Task<BenchReport> MessagesAsync(CancellationToken cancellationToken)
    {
        (ChatClient?[] clients, double stormSeconds) = await LoginStormAsync(Enumerable.Range(0, options.Clients).ToArray(), _ => OnMessage, cancellationToken).ConfigureAwait(false);
        progress?.Invoke($"[bench] {clients.Count(c => c is not null)} clients logged in in {stormSeconds:0.00} s ({options.Clients / stormSeconds:N0}/s)");
        try
        {
            double sendSeconds = await SendPhaseAsync(clients, Enumerable.Range(0, options.Clients).ToArray(), _ => null, cancellationToken).ConfigureAwait(false);
            double totalSeconds = await DrainAsync(sendSeconds, cancellationToken).ConfigureAwait(false);
            return Report(stormSeconds, sendSeconds) with { DeliveredPerSecond = Interlocked.Read(ref _delivered) / totalSeconds };
        }
        finally
        {
            await CloseAllAsync(clients).ConfigureAwait(false);
        }
    }

    private async Task<BenchReport> BurstAsync(CancellationToken cancellationToken)
    {
        if (options.Clients < 2)
        {
            throw new ArgumentException("the burst scenario needs at least 2 clients (1 receiver, senders)");
        }
        int[] senders = Enumerable.Range(1, options.Clients - 1).ToArray();
        (ChatClient?[] clients, double stormSeconds) = await LoginStormAsync(senders, _ => null, cancellationToken).ConfigureAwait(false);
        double sendSeconds;
        try
        {
            // Everything goes to client 0, which is offline: the whole burst queues in its inbox.
            sendSeconds = await SendPhaseAsync(clients, senders, _ => 0, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CloseAllAsync(clients).ConfigureAwait(false);
        }
        long expected = Interlocked.Read(ref _acknowledged);
        progress?.Invoke($"[bench] {expected:N0} messages queued for {UserName(0)} in {sendSeconds:0.00} s; logging in");
        TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Stopwatch clock = Stopwatch.StartNew();
        (ChatClient?[] receiver, _) = await LoginStormAsync([0], _ => async message =>
        {
            await OnMessage(message).ConfigureAwait(false);
            if (Interlocked.Read(ref _delivered) >= expected)
            {
                all.TrySetResult();
            }
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            await all.Task.WaitAsync(options.DrainTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        double burstSeconds = clock.Elapsed.TotalSeconds;
        await CloseAllAsync(receiver).ConfigureAwait(false);
        return Report(stormSeconds, sendSeconds) with { BurstSeconds = burstSeconds, DeliveredPerSecond = Interlocked.Read(ref _delivered) / burstSeconds };
    }

    private async Task<BenchReport> IdleAsync(CancellationToken cancellationToken)
    {
        (ChatClient?[] clients, double stormSeconds) = await LoginStormAsync(Enumerable.Range(0, options.Clients).ToArray(), _ => OnMessage, cancellationToken).ConfigureAwait(false);
        int connected = clients.Count(c => c is not null);
        progress?.Invoke($"[bench] {connected:N0} idle clients connected in {stormSeconds:0.00} s; holding for {options.Duration.TotalSeconds:0} s");
        BenchReport report;
        try
        {
            await Task.Delay(options.Duration, cancellationToken).ConfigureAwait(false);
            report = Report(stormSeconds, 0) with { ServerRssBytes = ServerRss() };
        }
        finally
        {
            await CloseAllAsync(clients).ConfigureAwait(false);
        }
        return report with { ResumedLogins = await ResumedLoginStormAsync(cancellationToken).ConfigureAwait(false) };
    }

    // ── sending and receiving ──

    /// <summary>Sends from every sender (a window of requests each, or paced to the target rate) until the count or the time is reached.</summary>
    private async Task<double> SendPhaseAsync(ChatClient?[] clients, int[] senders, Func<int, int?> fixedTarget, CancellationToken cancellationToken)
    {
        int active = senders.Count(i => clients[i] is not null);
        long perSender = options.Messages is long total ? Math.Max(1, total / Math.Max(1, active)) : long.MaxValue;
        double perSenderRate = options.Rate is double rate ? rate / Math.Max(1, active) : 0;
        Stopwatch clock = Stopwatch.StartNew();
        using CancellationTokenSource stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.Messages is null)
        {
            stop.CancelAfter(options.Duration);
        }
        using Timer ticker = new(_ => Progress(clock.Elapsed.TotalSeconds), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        List<Task> loops = [];
        foreach (int sender in senders)
        {
            if (clients[sender] is not ChatClient client)
            {
                continue;
            }
            long[] counter = [0];
            // Paced runs use one loop per client (a timer each, not one per request in flight),
            // with the clients' schedules spread over one interval so they do not fire in step.
            int window = options.Rate is null ? options.Window : 1;
            double phase = perSenderRate > 0 ? (double)loops.Count / Math.Max(1, active) / perSenderRate : 0;
            for (int w = 0; w < window; w++)
            {
                loops.Add(SendLoopAsync(client, sender, fixedTarget(sender), counter, perSender, perSenderRate, phase, clock, stop.Token));
            }
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
        return clock.Elapsed.TotalSeconds;
    }

    private async Task SendLoopAsync(ChatClient client, int sender, int? fixedTarget, long[] counter, long limit, double rate, double phaseSeconds, Stopwatch clock, CancellationToken cancellationToken)
    {
        Random random = new(HashCode.Combine(sender, Environment.TickCount));
        byte[] body = new byte[options.Size];
        while (!cancellationToken.IsCancellationRequested)
        {
            long sequence = Interlocked.Increment(ref counter[0]) - 1;
            if (sequence >= limit)
            {
                return;
            }
            if (rate > 0)
            {
                TimeSpan due = TimeSpan.FromSeconds(phaseSeconds + sequence / rate) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(due, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
            int target = fixedTarget ?? PickOther(random, sender);
            BinaryPrimitives.WriteInt32BigEndian(body, sender);
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), (uint)sequence);
            BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(8), Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _sent);
            try
            {
                // A copy per request: the server may still be encoding the previous one.
                await client.SendMessageAsync(UserName(target), ContentType, (byte[])body.Clone(), CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref _acknowledged);
            }
            catch (Exception e) when (e is ChatException or ChatConnectionException or IOException or Parley.Protocol.ParleyProtocolException)
            {
                Interlocked.Increment(ref _sendErrors);
            }
        }
    }

    private int PickOther(Random random, int sender)
    {
        int target = random.Next(options.Clients - 1);
        return target >= sender ? target + 1 : target;
    }

    private ValueTask OnMessage(ChatMessage message)
    {
        if (message.ContentType != ContentType || message.Body.Length < HeaderSize)
        {
            return ValueTask.CompletedTask;
        }
        long now = Stopwatch.GetTimestamp();
        int sender = BinaryPrimitives.ReadInt32BigEndian(message.Body);
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(message.Body.AsSpan(4));
        long sentAt = BinaryPrimitives.ReadInt64BigEndian(message.Body.AsSpan(8));
        if (_received.TryAdd(((long)sender << 32) | sequence, 0))
        {
            Interlocked.Increment(ref _delivered);
            _latency.Record((long)Stopwatch.GetElapsedTime(sentAt, now).TotalMicroseconds);
        }
        else
        {
            Interlocked.Increment(ref _duplicates);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until every acknowledged message has arrived, or the drain timeout.</summary>
    private async Task<double> DrainAsync(double sendSeconds, CancellationToken cancellationToken)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (Interlocked.Read(ref _delivered) < Interlocked.Read(ref _acknowledged) && clock.Elapsed < options.DrainTimeout)
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        Progress(sendSeconds + clock.Elapsed.TotalSeconds);
        return sendSeconds + clock.Elapsed.TotalSeconds;
    }

    private long _lastDelivered;

    private void Progress(double elapsed)
    {
        long delivered = Interlocked.Read(ref _delivered);
        long rate = delivered - Interlocked.Exchange(ref _lastDelivered, delivered);
        progress?.Invoke($"[bench] {elapsed,6:0.0} s  sent {Interlocked.Read(ref _sent),10:N0}  delivered {delivered,10:N0}  ({rate:N0}/s)  p99 {_latency.TakeWindowP99Milliseconds():0.0} ms  errors {Interlocked.Read(ref _sendErrors)}");
    }

    private BenchReport Report(double stormSeconds, double sendSeconds)
    {
        long acknowledged = Interlocked.Read(ref _acknowledged);
        long delivered = Interlocked.Read(ref _delivered);
        return new BenchReport
        {
            Scenario = options.Scenario.ToString().ToLowerInvariant(),
            Clients = options.Clients,
            Nodes = options.Nodes.Count,
            Group = options.Group.Name,
            Size = options.Size,
            TargetRate = options.Rate,
            LoginStormSeconds = stormSeconds,
            LoginsPerSecond = stormSeconds > 0 ? (options.Scenario == BenchScenario.Burst ? options.Clients - 1 : options.Clients) / stormSeconds : 0,
            LoginErrors = Interlocked.Read(ref _loginErrors),
            Sent = Interlocked.Read(ref _sent),
            Acknowledged = acknowledged,
            Delivered = delivered,
            Lost = Math.Max(0, acknowledged - delivered),
            Duplicates = Interlocked.Read(ref _duplicates),
            SendErrors = Interlocked.Read(ref _sendErrors),
            SendSeconds = sendSeconds,
            Latency = _latency.Summarise(),
        };
    }

    private long? ServerRss()
    {
        if (options.ServerProcessId is not int pid || !File.Exists($"/proc/{pid}/status"))
        {
            return null;
        }
        string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    private async Task CloseAllAsync(ChatClient?[] clients)
    {
        await Parallel.ForEachAsync(clients.Where(c => c is not null), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (client, _) =>
        {
            await client!.CloseAsync().ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>Accepts the server key, or only the given fingerprint.</summary>
    private sealed class BenchTrust(string? fingerprint) : IServerTrust
    {
        public ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(fingerprint is null || Parley.Crypto.Signing.Fingerprint.Matches(fingerprint, identity.Fingerprint)
                ? TrustDecision.Accept("benchmark")
                : TrustDecision.Refuse($"the server presented {identity.Fingerprint}, not {fingerprint}"));
    }
}
