// The messages scenario's warm-up (--warmup-time): a fresh generator process spends its first
// seconds compiling (tier 0, then the instrumented and optimised recompilations of the hot paths),
// and a server started just before does too. Measured from the due time, that shows as seconds of
// latency the server did not cause. So the clients first send at the run's own rate for a while,
// every message is drained and checked, and the measured run starts from zero: fresh counters,
// ledger, latencies and CPU meters. The warm-up's losses and duplicates still fail the run.
namespace Parley.Bench;

public sealed partial class BenchRunner
{
    private readonly record struct WarmUpResult(long Delivered, long Lost, long Duplicates, long SendErrors);

    private async Task<WarmUpResult> WarmUpSendingAsync(Parley.Client.ChatClient?[] clients, int[] senders, CancellationToken cancellationToken)
    {
        if (options.WarmUpTime <= TimeSpan.Zero)
        {
            return default;
        }
        progress?.Invoke($"[bench] warming up: sending for {options.WarmUpTime.TotalSeconds:0.#} s at the run's rate (not measured)");
        double seconds = await SendPhaseAsync(clients, senders, _ => null, messages: null, options.WarmUpTime, cancellationToken).ConfigureAwait(false);
        await DrainAsync(seconds, cancellationToken).ConfigureAwait(false);
        long acknowledged = Acknowledged;
        long delivered = Delivered;
        WarmUpResult result = new(delivered, Math.Max(0, acknowledged - delivered), Duplicates, SendErrors);
        // Every acknowledged message has arrived (or the drain timed out and counts as lost): nothing
        // of the warm-up is in flight when the counters start again.
        _ledger = new DeliveryLedger(options.Clients);
        _receivers = new ReceiverCounters?[options.Clients];
        _progressLatencies = new long[LatencyHistogram.BucketCount];
        Interlocked.Exchange(ref _lastDelivered, 0);
        lock (_timeline)
        {
            _timeline.Clear();
        }
        progress?.Invoke($"[bench] warm-up over: {delivered:N0} messages delivered; measuring");
        return result;
    }
}
