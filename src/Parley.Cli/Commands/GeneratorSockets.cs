// The load generator's sockets run their continuations on the runtime's socket event threads
// instead of handing each one to the thread pool. Unsafe for a server (one slow continuation
// stalls every socket of its event thread: a password hash, a store read), which is why
// `parley server` never does it; right for the generator, whose continuations are short (a
// handshake step, a login, counting a message) and which shares the machine with the server it
// measures: the hop costs it about 5% of its CPU per login and per message (BENCHMARKS §2 (m)).
namespace Parley.Cli.Commands;

internal static class GeneratorSockets
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Call before the process opens its first socket: the runtime reads the setting once. An explicit setting in the environment wins.</summary>
    public static void RunCompletionsInline()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }
    }
}
