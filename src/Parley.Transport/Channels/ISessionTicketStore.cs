using Parley.Protocol.Handshake;

namespace Parley.Transport.Channels;

/// <summary>
/// Where a client keeps its session ticket for one server (PROTOCOL.md §5.8–§5.9). Tickets are
/// single-use on the client: <see cref="Take"/> removes the ticket it returns, and the session
/// it resumes brings the next one through <see cref="Save"/>.
/// </summary>
public interface ISessionTicketStore
{
    /// <summary>Removes and returns the saved ticket, or null (none, expired, or no longer for the pinned key). The caller disposes it.</summary>
    ResumptionTicket? Take();

    /// <summary>Keeps <paramref name="ticket"/> in place of any earlier one; the store owns it from now on.</summary>
    void Save(ResumptionTicket ticket);
}

/// <summary>A ticket store in memory: for the benchmark's reconnect pass and for tests.</summary>
public sealed class MemorySessionTicketStore : ISessionTicketStore
{
    private ResumptionTicket? _ticket;

    /// <summary>How many tickets were saved so far.</summary>
    public int Saved { get; private set; }

    public bool HasTicket => Volatile.Read(ref _ticket) is not null;

    public ResumptionTicket? Take() => Interlocked.Exchange(ref _ticket, null);

    public void Save(ResumptionTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        Interlocked.Exchange(ref _ticket, ticket)?.Dispose();
        Saved++;
    }
}
