namespace Parley.Transport;

/// <summary>
/// Deadlines on a <see cref="TimeProvider"/> rather than the wall clock, so code whose token
/// source already exists (a linked one) can be given a timeout that tests drive with a fake clock.
/// </summary>
public static class Deadline
{
    /// <summary>
    /// Cancels <paramref name="source"/> once <paramref name="delay"/> has passed on <paramref name="time"/>.
    /// Dispose the returned timer before the source (declare it after the source in a <c>using</c>).
    /// </summary>
    public static ITimer CancelAfter(CancellationTokenSource source, TimeSpan delay, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(time);
        return time.CreateTimer(static state => Cancel((CancellationTokenSource)state!), source, delay, Timeout.InfiniteTimeSpan);
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The work finished and disposed its source as the timer fired: nothing is left to cancel.
        }
    }
}
