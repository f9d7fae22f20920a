// One sweep for all connections (not a timer each): ping the quiet, drop the silent, and take
// the cipher contexts of the idle back (ServerOptions.ReleaseIdleStateAfter). It also flushes the
// rate-limited log's "suppressed" summaries once a tick.
using Microsoft.Extensions.Logging;
using Parley.Server.Delivery;

namespace Parley.Server.Hosting;

internal static class KeepAliveSweep
{
    public static async Task RunAsync(ServerOptions options, Presence presence, LogRateLimiter log, ILogger logger, CancellationToken stopping)
    {
        TimeSpan period = Min(options.KeepAliveInterval, options.ReleaseIdleStateAfter) / 2;
        using PeriodicTimer timer = new(period < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : period, options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                log.Flush();
                foreach (ClientConnection connection in presence.Connections())
                {
                    TimeSpan idle = connection.IdleFor;
                    if (idle >= options.IdleTimeout)
                    {
                        logger.LogInformation("Closing a connection silent for {Seconds:0} s", idle.TotalSeconds);
                        connection.Abort();
                    }
                    else if (idle >= options.KeepAliveInterval)
                    {
                        connection.Ping();
                    }
                    else if (idle >= options.ReleaseIdleStateAfter)
                    {
                        connection.ReleaseIdleState();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
