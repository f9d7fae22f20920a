using Parley.Crypto.KeyAgreement;

namespace Parley.Bench;

public enum BenchScenario
{
    /// <summary>Clients send to random online clients; delivered rate, latency, exactly-once.</summary>
    Messages,

    /// <summary>One user offline receives a burst; the time to deliver it all on login.</summary>
    Burst,

    /// <summary>Clients connect, log in and stay idle for the duration (server memory per connection).</summary>
    Idle,
}

public sealed record BenchOptions
{
    public string Host { get; init; } = "localhost";
    public int Port { get; init; } = 5555;

    /// <summary>
    /// The nodes of a cluster beyond <see cref="Host"/>:<see cref="Port"/>; client i connects to node
    /// i mod n, so clients (and each pair of sender and recipient) are spread across the nodes.
    /// </summary>
    public IReadOnlyList<(string Host, int Port)> MoreNodes { get; init; } = [];

    /// <summary>Every node the clients connect to, the first one first.</summary>
    public IReadOnlyList<(string Host, int Port)> Nodes => [(Host, Port), .. MoreNodes];
    public BenchScenario Scenario { get; init; } = BenchScenario.Messages;
    public int Clients { get; init; } = 200;

    /// <summary>Total messages; when null, <see cref="Duration"/> bounds the run.</summary>
    public long? Messages { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);
    public int Size { get; init; } = 256;

    /// <summary>Target total messages per second; null sends as fast as the server accepts.</summary>
    public double? Rate { get; init; }

    /// <summary>Requests each client keeps in flight at most: as fast as the server answers without --rate, or to keep to the timetable with it.</summary>
    public int Window { get; init; } = 8;

    public KeyAgreementAlgorithm Group { get; init; } = KeyAgreementAlgorithms.X25519;

    /// <summary>Accounts are named PREFIX-0 … PREFIX-(N-1); their device tokens are cached between runs.</summary>
    public string UserPrefix { get; init; } = "bench";

    /// <summary>
    /// The benchmark's own Parley home, where its accounts' device tokens are kept between runs (so
    /// only the first run pays for PBKDF2), per server key like `parley chat`'s; null keeps them
    /// for this run only, in a temporary folder.
    /// </summary>
    public string? HomePath { get; init; }

    /// <summary>
    /// The idle scenario's warm-up: this many clients (at most all) log in fully, then resumed, and
    /// leave, in rounds until a round leaves the JIT almost nothing to compile (at most 6), before
    /// the measured storms, so the generator's and the server's JIT compilations (tiering up the
    /// handshake and login paths) are not counted as CPU per login. 0: none.
    /// </summary>
    public int WarmUpLogins { get; init; } = 500;

    /// <summary>
    /// The messages scenario's warm-up: the clients send at the run's rate for this long, the
    /// messages are drained and checked (a loss or duplicate fails the run), and only then does the
    /// measured run start, with fresh counters, latencies and CPU meters. A fresh generator process
    /// otherwise spends its first seconds in the JIT, which shows as the server's latency. Zero: none.
    /// </summary>
    public TimeSpan WarmUpTime { get; init; } = TimeSpan.Zero;

    /// <summary>Concurrent connection attempts during the login storm.</summary>
    public int LoginConcurrency { get; init; } = 64;

    /// <summary>
    /// The generator collects before each login storm and holds its own collections off during it
    /// (<see cref="StormHeap"/>): its thousands of clients' surviving state is an artefact of running
    /// them in one process. False: it collects during storms as any process would.
    /// </summary>
    public bool HoldCollectionsDuringStorms { get; init; } = true;

    /// <summary>
    /// The generator asks Linux for transparent huge pages on its collector's memory
    /// (<see cref="HeapPages"/>), so its simulated devices' fresh memory does not cost a page
    /// fault per 4 KiB. False: 4 KiB pages, as any process gets by default.
    /// </summary>
    public bool HugePagesForHeap { get; init; } = true;

    /// <summary>
    /// The generator's committed heap, a login storm's no-GC region among it, is faulted in before
    /// the storm's clock starts (<see cref="HeapPages"/>). False: the storm touches it as it goes.
    /// </summary>
    public bool PrefaultStormHeap { get; init; } = true;

    /// <summary>How long to wait for stragglers after the last send before counting a message lost.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A server process on this machine whose resident memory to report (Linux /proc).</summary>
    public int? ServerProcessId { get; init; }

    /// <summary>Clients ask for the compact form (PROTOCOL.md §11.9); false: JSON only, as older clients and the browser speak.</summary>
    public bool CompactForm { get; init; } = true;

    /// <summary>Accept whatever server key is presented: a benchmark measures, it does not authenticate.</summary>
    public string? Fingerprint { get; init; }
}
