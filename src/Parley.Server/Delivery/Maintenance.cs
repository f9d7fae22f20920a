// The periodic sweep, on the server's TimeProvider: deletes undelivered messages past their
// expiry, empties the database log (so no copy of a deleted body stays in it), and drops idle
// rate-limit and quota state, so none of them grows without bound.
using Microsoft.Extensions.Logging;

namespace Parley.Server.Delivery;

internal sealed class Maintenance(ServerContext context)
{
    private TaskCompletionSource _nextSweep = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the sweep after this call has finished (tests wait on it instead of sleeping).</summary>
    internal Task NextSweep => Volatile.Read(ref _nextSweep).Task;

    /// <summary>Starts the periodic sweep. The timer exists when this returns, so time moved after it counts.</summary>
    public Task Start(CancellationToken stopping)
    {
        PeriodicTimer timer = new(context.Options.SweepInterval, context.Options.Time);
        return Task.Run(() => RunAsync(timer, stopping), CancellationToken.None);
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        using PeriodicTimer _ = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await SweepAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            long cutoff = (context.Options.Time.GetUtcNow() - context.Options.MessageExpiry).ToUnixTimeMilliseconds();
            int expired = await context.Writer.ExpireAsync(cutoff, cancellationToken).ConfigureAwait(false);
            if (expired > 0)
            {
                context.Logger.LogInformation("Deleted {Count} undelivered messages older than {Days:0.#} days", expired, context.Options.MessageExpiry.TotalDays);
            }
        }
        catch (IOException e)
        {
            context.Logger.LogWarning("The expiry sweep failed: {Message}", e.Message);
        }
        finally
        {
            context.RateLimiter.ForgetIdle();
            Interlocked.Exchange(ref _nextSweep, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }
}
