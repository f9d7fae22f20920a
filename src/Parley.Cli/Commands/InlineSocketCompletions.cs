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
namespace Parley.Cli.Commands;

internal static class InlineSocketCompletions
{
    internal const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

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
}
