// One lock per group name, striped so memory stays fixed however many groups exist: a change or a
// group_send holds its group's stripe while it reads the membership and queues its rows, so the
// rows reach every member's inbox in the order the decisions were made (a message sent under
// version n never lands before the notice of version n). Unrelated groups that share a stripe
// only wait for each other's queueing, never for a commit.
namespace Parley.Server.Delivery;

internal sealed class GroupOrder
{
    private const int Stripes = 64;

    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>Holds <paramref name="group"/>'s stripe until the returned value is disposed.</summary>
    public async Task<IDisposable> LockAsync(string group, CancellationToken cancellationToken)
    {
        SemaphoreSlim stripe = _stripes[unchecked((int)((uint)StringComparer.Ordinal.GetHashCode(group) % Stripes))];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Release(stripe);
    }

    private sealed class Release(SemaphoreSlim stripe) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                stripe.Release();
            }
        }
    }
}
