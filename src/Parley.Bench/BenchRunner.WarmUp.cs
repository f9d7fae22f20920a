// The idle scenario measures CPU per connection and login; a fresh generator process (and a
// server's first storm) would otherwise count the JIT's work too: tier-0 compilation of every
// method on the path, then the instrumented and optimised recompilations of the hot ones, a fixed
// cost that at 1,000 clients was a large share of each login (docs/decisions/0014). Rounds of a
// few hundred logins, full then resumed, run until a round leaves the JIT (almost) nothing new to
// compile: one fixed round was not enough (the runtime tiers methods up in the background, in
// steps, and only while they are being called).
namespace Parley.Bench;

public sealed partial class BenchRunner
{
    /// <summary>Background tier-up (batched by the runtime every 100 ms) gets this long after each round.</summary>
    private static readonly TimeSpan s_tierUpPause = TimeSpan.FromMilliseconds(300);

    /// <summary>A round that compiled fewer methods than this (counting its pause) ends the warm-up.</summary>
    private const int QuietCompilations = 20;

    private const int MaxWarmUpRounds = 6;

    /// <summary>Logins made by the warm-up (full and resumed), for the report.</summary>
    private int _warmUpLogins;

    private async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        int count = Math.Min(options.WarmUpLogins, options.Clients);
        if (count == 0)
        {
            return;
        }
        progress?.Invoke($"[bench] warming up: {count:N0} clients log in fully, then resumed (not measured)");
        int[] indexes = Enumerable.Range(0, count).ToArray();
        for (int round = 1; round <= MaxWarmUpRounds; round++)
        {
            long compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            foreach (bool resumed in new[] { false, true })
            {
                foreach (int i in indexes)
                {
                    TicketsFor(i).Offer = resumed;
                }
                (Parley.Client.ChatClient?[] clients, _) = await LoginStormAsync(indexes, _ => null, cancellationToken).ConfigureAwait(false);
                _warmUpLogins += clients.Count(c => c is not null);
                await CloseAllAsync(clients).ConfigureAwait(false);
            }
            await Task.Delay(s_tierUpPause, cancellationToken).ConfigureAwait(false);
            long compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore;
            if (compiled < QuietCompilations)
            {
                break;
            }
        }
        foreach (int i in indexes)
        {
            TicketsFor(i).Offer = false;
        }
    }
}
