// One sweep for all connections (not a timer each): ping the quiet, drop the silent, and take
// the cipher contexts of the idle back (ServerOptions.ReleaseIdleStateAfter). It also flushes the
// rate-limited log's "suppressed" summaries once a tick.
using Microsoft.Extensions.Logging;
using Parley.Server.Delivery;

namespace Parley.Server.Hosting;

internal static class KeepAliveSweep
{
    /// <param name="handshakes">Handshakes completed so far: while it stays still the server is quiet, and <paramref name="trim"/> may run.</param>
    public static async Task RunAsync(ServerOptions options, Presence presence, LogRateLimiter log, ILogger logger, Func<long> handshakes,
        QuietMemoryTrim trim, CancellationToken stopping)
    {
        // Ticks often enough for the release; pings and closes keep their own cadence (half the
        // ping interval, PROTOCOL.md §11.4), every keepAliveEvery-th tick.
        TimeSpan period = Max(Min(options.KeepAliveInterval, options.ReleaseIdleStateAfter) / 2, TimeSpan.FromMilliseconds(10));
        long keepAliveEvery = Math.Max(1, (long)((options.KeepAliveInterval / 2) / period));
        long tick = 0;
        using PeriodicTimer timer = new(period, options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                bool keepAlive = ++tick % keepAliveEvery == 0;
                if (keepAlive)
                {
                    log.Flush();
                }
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                if (trim.Tick(handshakes()))
                {
                    // Rare (at most every 10 s, and 1% of the time): the pause is worth a line.
                    logger.LogInformation("Quiet after logins: gave unused memory back to the system ({Milliseconds:0} ms)",
                        System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                foreach (ClientConnection connection in presence.Connections())
                {
                    TimeSpan idle = connection.IdleFor;
                    if (!keepAlive)
                    {
                        if (idle >= options.ReleaseIdleStateAfter)
                        {
                            connection.ReleaseIdleState();
                        }
                    }
                    else if (idle >= options.IdleTimeout)
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

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
