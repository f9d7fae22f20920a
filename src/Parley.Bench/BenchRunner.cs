// The load generator behind `parley bench`: real clients (the same ChatClient as `parley chat`)
// over real sockets, against a running server. Every message carries its sender, a sequence
// number and the send time, so the run can prove exactly-once delivery and measure latency with
// one clock (senders and receivers live in this process). The send side is in
// BenchRunner.Sending.cs, the receive side in BenchRunner.Receiving.cs.
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
    private readonly CpuMeter _cpu = new(options.ServerProcessId);
    private string[] _names = [];
    private long _loginErrors;

    // Where each node is dialled: its name looked up once, before the storms (a client that
    // connects thousands of times should not run the resolver each time; the generator's CPU is
    // what the server's figures share the machine with).
    private (string Host, int Port)[] _dial = [];

    // Clients the server agreed the compact form with, and those left on JSON (an older server).
    private long _compactLogins;
    private long _jsonLogins;

    private string UserName(int index) => $"{options.UserPrefix}-{index}";

    private string Password(int index) => $"{options.UserPrefix}-password-{index}";

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken = default)
    {
        if (options.Size < HeaderSize)
        {
            throw new ArgumentException($"--size must be at least {HeaderSize} bytes (the benchmark's own header).");
        }
        if (options.Window < 1)
        {
            throw new ArgumentException("--window must be at least 1.");
        }
        _names = Enumerable.Range(0, options.Clients).Select(UserName).ToArray();
        if (options.HugePagesForHeap && HeapPages.AdviseHuge() == 0)
        {
            progress?.Invoke("[bench] no huge pages for the generator's heap here: it runs on 4 KiB pages");
        }
        _dial = await ResolveNodesAsync(cancellationToken).ConfigureAwait(false);
        _receivers = new ReceiverCounters?[options.Clients];
        _ledger = new DeliveryLedger(options.Clients);
        DirectoryInfo? temporaryHome = options.HomePath is null ? Directory.CreateTempSubdirectory("parley-bench-") : null;
        // The bench counts and de-duplicates messages itself: no last-seen file written per message.
        // Nor a token file read per login: the tokens are read once and kept (written and deleted as ever).
        _login = new ClientLogin(new ParleyHome(options.HomePath ?? temporaryHome!.FullName)) { KeepsLastSeen = false, RemembersTokens = true };
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

    /// <summary>
    /// Before a storm's clock starts (<see cref="HeapPages"/>): huge pages again (memory the
    /// collector decommitted lost the advice), then every committed page of the heap's run faulted
    /// in, the storm's no-GC region among them, up to a quarter of what the runtime may use.
    /// </summary>
    private void PrepareStormPages(StormHeap heap)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        if (options.HugePagesForHeap)
        {
            HeapPages.AdviseHuge();
        }
        if (!options.PrefaultStormHeap || heap.HeldBytes == 0)
        {
            return;
        }
        Stopwatch clock = Stopwatch.StartNew();
        HeapPages.Prefault done = HeapPages.Populate(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);
        progress?.Invoke(done switch
        {
            { Unsupported: true } => "[bench] this kernel cannot fault memory in ahead (no MADV_POPULATE_WRITE): the storm touches the generator's fresh pages as it goes",
            { CommittedBytes: 0 } => "[bench] the generator's heap was not found in /proc/self/maps: its pages are touched during the storm",
            { OverLimit: true } => $"[bench] the generator's heap ({done.CommittedBytes >> 20:N0} MiB committed) is over a quarter of memory: not faulted in before the storm",
            { RefusedMappings: > 0 } => $"[bench] the generator's heap: {done.PopulatedBytes >> 20:N0} of {done.CommittedBytes >> 20:N0} MiB committed faulted in before the storm ({done.RefusedMappings} mappings refused, errno {done.LastError})",
            _ => $"[bench] the generator's heap ({done.PopulatedBytes >> 20:N0} MiB committed) faulted in before the storm, in {clock.Elapsed.TotalMilliseconds:N0} ms",
        });
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

    /// <summary>Each node's first address (IPv4 first, as a dialler tries them), or its name when it has none.</summary>
    private async Task<(string Host, int Port)[]> ResolveNodesAsync(CancellationToken cancellationToken)
    {
        List<(string Host, int Port)> dial = [];
        foreach ((string host, int port) in options.Nodes)
        {
            System.Net.IPAddress[] addresses = System.Net.IPAddress.TryParse(host, out System.Net.IPAddress? literal)
                ? [literal]
                : await System.Net.Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            System.Net.IPAddress? first = addresses.OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 0 : 1).FirstOrDefault();
            dial.Add((first?.ToString() ?? host, port));
        }
        return [.. dial];
    }

    /// <summary>Client <paramref name="index"/> connects to node index mod n (the nodes must share one server key: device tokens belong to it).</summary>
    private async Task<ChatClient> ConnectAsync(int index, CancellationToken cancellationToken)
    {
        (string host, int port) = _dial[index % _dial.Length];
        ChatClient client = await ChatClient.ConnectAsync(host, port,
            new ClientChannelOptions(new BenchTrust(options.Fingerprint))
            {
                Handshake = new ClientHandshakeOptions { Groups = [options.Group] },
                Tickets = TicketsFor(index),
            }, cancellationToken).ConfigureAwait(false);
        client.UseCompactForm = options.CompactForm;
        return client;
    }

    /// <summary>Connects and logs in many clients at once with device tokens; returns them and the storm's duration.</summary>
    /// <remarks>The generator's collections are held off for the storm (<see cref="StormHeap"/>); <paramref name="cpu"/> measures inside that.</remarks>
    private async Task<(ChatClient?[] Clients, double Seconds)> LoginStormAsync(int[] indexes, Func<int, Func<ChatMessage, ValueTask>?> handler, CancellationToken cancellationToken, CpuMeter? cpu = null)
    {
        ChatClient?[] clients = new ChatClient?[options.Clients];
        using StormHeap heap = StormHeap.Hold(indexes.Length, options.HoldCollectionsDuringStorms);
        if (options.HoldCollectionsDuringStorms && heap.HeldBytes == 0)
        {
            progress?.Invoke("[bench] the runtime would not hold collections off for this storm: the generator collects during it");
        }
        PrepareStormPages(heap);
        cpu?.Start();
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
                    Interlocked.Increment(ref client.CompactAgreed ? ref _compactLogins : ref _jsonLogins);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _loginErrors);
                }
            }).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        cpu?.Stop();
        return (clients, seconds);
    }

    // ── scenarios ──

    private async Task<BenchReport> MessagesAsync(CancellationToken cancellationToken)
    {
        (ChatClient?[] clients, double stormSeconds) = await LoginStormAsync(Enumerable.Range(0, options.Clients).ToArray(), Receiver, cancellationToken).ConfigureAwait(false);
        progress?.Invoke($"[bench] {clients.Count(c => c is not null)} clients logged in in {stormSeconds:0.00} s ({options.Clients / stormSeconds:N0}/s)");
        try
        {
            int[] everyone = Enumerable.Range(0, options.Clients).ToArray();
            WarmUpResult warmUp = await WarmUpSendingAsync(clients, everyone, cancellationToken).ConfigureAwait(false);
            _cpu.Start();
            double sendSeconds = await SendPhaseAsync(clients, everyone, _ => null, options.Messages, options.Duration, cancellationToken).ConfigureAwait(false);
            double totalSeconds = await DrainAsync(sendSeconds, cancellationToken).ConfigureAwait(false);
            _cpu.Stop();
            BenchReport report = Report(stormSeconds, sendSeconds);
            return report with
            {
                DeliveredPerSecond = Delivered / totalSeconds,
                WarmUpMessages = warmUp.Delivered,
                Lost = report.Lost + warmUp.Lost,
                Duplicates = report.Duplicates + warmUp.Duplicates,
                SendErrors = report.SendErrors + warmUp.SendErrors,
            };
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
            _cpu.Start();
            sendSeconds = await SendPhaseAsync(clients, senders, _ => 0, options.Messages, options.Duration, cancellationToken).ConfigureAwait(false);
            _cpu.Stop();
        }
        finally
        {
            await CloseAllAsync(clients).ConfigureAwait(false);
        }
        long expected = Acknowledged;
        progress?.Invoke($"[bench] {expected:N0} messages queued for {UserName(0)} in {sendSeconds:0.00} s; logging in");
        TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Stopwatch clock = Stopwatch.StartNew();
        _cpu.Start();
        (ChatClient?[] receiver, _) = await LoginStormAsync([0], _ => message =>
        {
            Receive(0, message);
            if (Delivered >= expected)
            {
                all.TrySetResult();
            }
            return ValueTask.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            await all.Task.WaitAsync(options.DrainTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        double burstSeconds = clock.Elapsed.TotalSeconds;
        _cpu.Stop();
        await CloseAllAsync(receiver).ConfigureAwait(false);
        return Report(stormSeconds, sendSeconds) with { BurstSeconds = burstSeconds, DeliveredPerSecond = Delivered / burstSeconds };
    }

    private async Task<BenchReport> IdleAsync(CancellationToken cancellationToken)
    {
        await WarmUpAsync(cancellationToken).ConfigureAwait(false);
        CpuMeter loginCpu = new(options.ServerProcessId);
        (ChatClient?[] clients, double stormSeconds) = await LoginStormAsync(Enumerable.Range(0, options.Clients).ToArray(), Receiver, cancellationToken, loginCpu).ConfigureAwait(false);
        int connected = clients.Count(c => c is not null);
        progress?.Invoke($"[bench] {connected:N0} idle clients connected in {stormSeconds:0.00} s; holding for {options.Duration.TotalSeconds:0} s");
        BenchReport report;
        try
        {
            await Task.Delay(options.Duration, cancellationToken).ConfigureAwait(false);
            report = Report(stormSeconds, 0) with { ServerRssBytes = ServerRss(), LoginCpu = loginCpu.Summarise(connected), WarmUpLogins = _warmUpLogins };
        }
        finally
        {
            await CloseAllAsync(clients).ConfigureAwait(false);
        }
        return report with { ResumedLogins = await ResumedLoginStormAsync(cancellationToken).ConfigureAwait(false) };
    }

    private long _lastDelivered;

    // Each progress tick of the measured run, for the report (and the picture `parley bench plot` draws of it).
    private readonly List<TimelinePoint> _timeline = [];

    private void Progress(double elapsed)
    {
        long delivered = Delivered;
        long rate = delivered - Interlocked.Exchange(ref _lastDelivered, delivered);
        double p99 = TakeWindowP99Milliseconds();
        lock (_timeline)
        {
            // The ticks are a second apart, but the drain's last one may follow its predecessor by a few milliseconds.
            double since = _timeline.Count == 0 ? elapsed : elapsed - _timeline[^1].Seconds;
            _timeline.Add(new TimelinePoint(Math.Round(elapsed, 2), Math.Round(since, 3), rate, p99));
        }
        progress?.Invoke($"[bench] {elapsed,6:0.0} s  sent {Sent,10:N0}  delivered {delivered,10:N0}  ({rate:N0}/s)  p99 {p99:0.0} ms  errors {SendErrors}");
    }

    private TimelinePoint[] Timeline()
    {
        lock (_timeline)
        {
            return [.. _timeline];
        }
    }

    private BenchReport Report(double stormSeconds, double sendSeconds)
    {
        long acknowledged = Acknowledged;
        long delivered = Delivered;
        (long[] latencies, long maxLatency) = MergedLatencies();
        return new BenchReport
        {
            Timeline = Timeline(),
            Scenario = options.Scenario.ToString().ToLowerInvariant(),
            Clients = options.Clients,
            Nodes = options.Nodes.Count,
            Group = options.Group.Name,
            Encoding = Interlocked.Read(ref _jsonLogins) == 0 ? "compact" : Interlocked.Read(ref _compactLogins) == 0 ? "json" : "mixed",
            Size = options.Size,
            TargetRate = options.Rate,
            LoginStormSeconds = stormSeconds,
            LoginsPerSecond = stormSeconds > 0 ? (options.Scenario == BenchScenario.Burst ? options.Clients - 1 : options.Clients) / stormSeconds : 0,
            LoginErrors = Interlocked.Read(ref _loginErrors),
            Sent = Sent,
            OfferedPerSecond = OfferedPerSecond(),
            LateSends = LateSends,
            Acknowledged = acknowledged,
            Delivered = delivered,
            Lost = Math.Max(0, acknowledged - delivered),
            Duplicates = Duplicates,
            SendErrors = SendErrors,
            SendSeconds = sendSeconds,
            Latency = LatencyHistogram.Summarise(latencies, maxLatency),
            Cpu = _cpu.Summarise(delivered),
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
