// `parley server` and `parley bench` run socket continuations on the runtime's socket event
// threads instead of handing each one to the thread pool. The hand-off is a wake-up of another
// thread for every socket event; on the PVM guest of BENCHMARKS §2 (r) that made a resumed login
// cost the server a third more CPU, and it costs the generator about 5% per login and per message
// (§2 (m)).
//
// The price is that a continuation which blocks stalls every socket of its event thread. The
// generator's continuations are short (a handshake step, a login, counting a message). The
// server's can block in one place, its SQLite store (a statement runs to completion on the calling
// thread and waits out another process's write lock), and every store method leaves the event
// thread first (EventThreads.Leave, decision 0024). A password hash already runs on a thread of
// its own.
//
// With inline completions the runtime starts one event thread per CPU it counted at start: all of
// the machine's, because `--cpu` pins the process only after the runtime has started. A server
// pinned to one CPU of two therefore had two event threads taking turns on it, each woken for its
// share of the sockets. The server asks for as many event threads as it has CPUs (decision 0028,
// BENCHMARKS §2 (u)). The generator keeps the default: measured with one event thread on its one
// CPU, its logins cost it more, not less.
using System.Globalization;

namespace Parley.Cli.Commands;

internal static class InlineSocketCompletions
{
    internal const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The runtime's setting for how many socket event threads to start (read once, at the first socket).</summary>
    internal const string EventThreadsVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>
    /// Call before the process opens its first socket: the runtime reads the setting once. An
    /// explicit setting in the environment wins (0 turns inline completions off).
    /// </summary>
    public static void TurnOn()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }

    /// <summary>
    /// One socket event thread per CPU the process was pinned to (<paramref name="pinnedCpus"/>;
    /// 0, not pinned, leaves the runtime's default of one per CPU of the machine). Call after
    /// <see cref="TurnOn"/> and before the first socket. An explicit setting in the environment
    /// wins, and with inline completions turned off the runtime's own default (one event thread
    /// per 30 CPUs, handing work to the pool) is left alone too.
    /// </summary>
    public static void MatchEventThreadsTo(int pinnedCpus)
    {
        if (pinnedCpus > 0 && AreOn() && Environment.GetEnvironmentVariable(EventThreadsVariable) is null)
        {
            Environment.SetEnvironmentVariable(EventThreadsVariable, pinnedCpus.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Read as the runtime reads it: "1" or "true", in any case.</summary>
    private static bool AreOn() =>
        Environment.GetEnvironmentVariable(Variable) is string value && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));
}
