namespace Parley.Bench;

public sealed record BenchReport
{
    public required string Scenario { get; init; }
    public required int Clients { get; init; }

    /// <summary>Server nodes the clients were spread across.</summary>
    public int Nodes { get; init; } = 1;
    public required string Group { get; init; }

    /// <summary>How the clients' sends, acks, messages and results went: compact (PROTOCOL.md §11.9), json, or mixed (the server agreed to some only).</summary>
    public string Encoding { get; init; } = "json";
    public required int Size { get; init; }
    public double? TargetRate { get; init; }
    public double LoginStormSeconds { get; init; }
    public double LoginsPerSecond { get; init; }
    public long LoginErrors { get; init; }
    public long Sent { get; init; }

    /// <summary>Messages sent per second from the start of sending to the last send: what the generator offered (compare with <see cref="TargetRate"/>).</summary>
    public double OfferedPerSecond { get; init; }

    /// <summary>Paced sends that left more than 10 ms after their due time (the window was full or the generator short of CPU).</summary>
    public long LateSends { get; init; }
    public long Acknowledged { get; init; }
    public long Delivered { get; init; }
    public long Lost { get; init; }
    public long Duplicates { get; init; }
    public long SendErrors { get; init; }
    public double SendSeconds { get; init; }
    public double DeliveredPerSecond { get; init; }
    /// <summary>From the time each message was due (paced runs) or sent (--rate max) to its delivery.</summary>
    public LatencySummary Latency { get; init; } = new(0, 0, 0, 0, 0);
    public double? BurstSeconds { get; init; }
    public long? ServerRssBytes { get; init; }

    /// <summary>Server and generator CPU over the send phase and drain (see <see cref="CpuMeter"/>).</summary>
    public CpuUsage Cpu { get; init; } = new();

    /// <summary>
    /// The idle scenario's login storm: server and generator CPU over the storm, where "per
    /// message" reads "per connection and login" (null in the other scenarios).
    /// </summary>
    public CpuUsage? LoginCpu { get; init; }

    /// <summary>The idle scenario's unmeasured warm-up logins before the storms (full and resumed together).</summary>
    public int WarmUpLogins { get; init; }

    /// <summary>The messages scenario's unmeasured warm-up: messages delivered in it (all checked for exactly-once).</summary>
    public long WarmUpMessages { get; init; }

    /// <summary>The CPUs the generator's threads may run on, as the kernel lists them (e.g. "1" with --cpu 1); null off Linux.</summary>
    public string? GeneratorCpus { get; init; }

    /// <summary>The idle scenario's reconnect pass with session tickets (the first storm's handshakes are full ones).</summary>
    public ResumedLoginStorm? ResumedLogins { get; init; }

    /// <summary>The measured run second by second (empty for the idle scenario): what the progress lines print.</summary>
    public IReadOnlyList<TimelinePoint> Timeline { get; init; } = [];

    /// <summary>Every acknowledged message delivered exactly once, and no errors.</summary>
    public bool Passed => Lost == 0 && Duplicates == 0 && SendErrors == 0 && LoginErrors == 0 && (ResumedLogins?.Errors ?? 0) == 0;
}

/// <param name="Seconds">Since the measured sending began.</param>
/// <param name="Interval">Seconds since the point before (about 1; the drain's last point may be much shorter).</param>
/// <param name="Delivered">Messages delivered in that interval.</param>
/// <param name="P99Ms">The 99th percentile latency of those messages.</param>
public sealed record TimelinePoint(double Seconds, double Interval, long Delivered, double P99Ms)
{
    /// <summary>Points over less than this are too short to give a rate (the drain's last few milliseconds).</summary>
    public const double MinimumInterval = 0.5;

    public double DeliveredPerSecond => Interval > 0 ? Delivered / Interval : 0;
}
