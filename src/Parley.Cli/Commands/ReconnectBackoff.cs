// How long `parley chat` waits before each attempt to reconnect: exponential back-off (1 s, 2 s,
// 4 s … up to 30 s) with jitter, so that the clients of a restarted server do not all come back in
// the same second. "Equal jitter": half the step is fixed and half random, so the wait printed
// ("reconnecting in N s…") is never far from the truth and never zero.
namespace Parley.Cli.Commands;

public static class ReconnectBackoff
{
    public static readonly TimeSpan First = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

    /// <summary>The wait before attempt <paramref name="attempt"/> (0 = the first).</summary>
    public static TimeSpan Delay(int attempt, Random random)
    {
        double step = Math.Min(Cap.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(step / 2 + random.NextDouble() * step / 2);
    }
}
