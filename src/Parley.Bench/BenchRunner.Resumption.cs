// The login storm's second pass (issue 13): after the idle scenario's storm of full handshakes,
// every client reconnects and logs in again with the session ticket its first connection brought
// (PROTOCOL.md §5.9), so full and resumed handshakes are measured apart, each with its own rate.
using System.Collections.Concurrent;
using Parley.Client;
using Parley.Protocol.Handshake;
using Parley.Transport.Channels;

namespace Parley.Bench;

public sealed partial class BenchRunner
{
    private readonly ConcurrentDictionary<int, BenchTicketStore> _tickets = new();

    /// <summary>Client <paramref name="index"/>'s ticket: always kept, offered only in the reconnect pass.</summary>
    private BenchTicketStore TicketsFor(int index) => _tickets.GetOrAdd(index, _ => new BenchTicketStore());

    /// <summary>Every client connects and logs in once more, offering its ticket; the storm's rate and how many resumed.</summary>
    private async Task<ResumedLoginStorm> ResumedLoginStormAsync(CancellationToken cancellationToken)
    {
        int withTicket = 0;
        foreach (BenchTicketStore store in _tickets.Values)
        {
            withTicket += store.HasTicket ? 1 : 0;
            store.Offer = true;
        }
        progress?.Invoke($"[bench] reconnecting {options.Clients:N0} clients with the session tickets of their first login ({withTicket:N0} have one)");
        long errorsBefore = Interlocked.Read(ref _loginErrors);
        CpuMeter cpu = new(options.ServerProcessId);
        (ChatClient?[] clients, double seconds) = await LoginStormAsync(Enumerable.Range(0, options.Clients).ToArray(), Receiver, cancellationToken, cpu).ConfigureAwait(false);
        try
        {
            return new ResumedLoginStorm(
                Seconds: seconds,
                LoginsPerSecond: seconds > 0 ? options.Clients / seconds : 0,
                Resumed: clients.Count(c => c is { Resumed: true }),
                Full: clients.Count(c => c is { Resumed: false }),
                Errors: Interlocked.Read(ref _loginErrors) - errorsBefore,
                Cpu: cpu.Summarise(clients.Count(c => c is not null)));
        }
        finally
        {
            await CloseAllAsync(clients).ConfigureAwait(false);
        }
    }

    /// <summary>One client's ticket between its two logins.</summary>
    private sealed class BenchTicketStore : ISessionTicketStore
    {
        private readonly MemorySessionTicketStore _inner = new();

        public volatile bool Offer;

        public bool HasTicket => _inner.HasTicket;

        public ResumptionTicket? Take() => Offer ? _inner.Take() : null;

        public void Save(ResumptionTicket ticket) => _inner.Save(ticket);
    }
}

/// <summary>The reconnect pass of the login storm: resumed handshakes (no server signature) and any that fell back to full ones.</summary>
/// <summary><paramref name="Cpu"/>: server and generator CPU over this storm, "per message" reading "per connection and login".</summary>
public sealed record ResumedLoginStorm(double Seconds, double LoginsPerSecond, int Resumed, int Full, long Errors, CpuUsage? Cpu = null);
