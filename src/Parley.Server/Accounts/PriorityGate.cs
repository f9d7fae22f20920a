// A counting gate with two lanes. PBKDF2 slots are scarce by design; when they are all busy, a
// login to an existing account takes the next free slot before any waiting registration, so a
// registration flood cannot push real users' logins to the back of the queue.
namespace Parley.Server.Accounts;

public enum HashPriority
{
    /// <summary>Checking the password of an existing account.</summary>
    Login,

    /// <summary>Hashing the password of a new account.</summary>
    Registration,
}

public sealed class PriorityGate
{
    private readonly object _lock = new();
    private readonly LinkedList<TaskCompletionSource> _logins = new();
    private readonly LinkedList<TaskCompletionSource> _registrations = new();
    private int _free;

    public PriorityGate(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Slots = slots;
        _free = slots;
    }

    public int Slots { get; }

    /// <summary>Registrations waiting for a slot now.</summary>
    public int WaitingRegistrations
    {
        get
        {
            lock (_lock)
            {
                return _registrations.Count;
            }
        }
    }

    /// <summary>Logins waiting for a slot now.</summary>
    public int WaitingLogins
    {
        get
        {
            lock (_lock)
            {
                return _logins.Count;
            }
        }
    }

    /// <summary>Waits for a slot; every successful wait must be followed by one <see cref="Release"/>.</summary>
    public async Task WaitAsync(HashPriority priority, CancellationToken cancellationToken)
    {
        LinkedList<TaskCompletionSource> lane = priority == HashPriority.Login ? _logins : _registrations;
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            // A registration never overtakes a waiting login; a login only queues behind logins.
            bool mayTake = _free > 0 && _logins.Count == 0 && (priority == HashPriority.Login || _registrations.Count == 0);
            if (mayTake)
            {
                _free--;
                return;
            }
            node = lane.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        using (cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                // Still queued: withdraw. Already granted: the caller owns the slot and releases it.
                if (node.List is not null)
                {
                    lane.Remove(node);
                    node.Value.TrySetCanceled(cancellationToken);
                }
            }
        }))
        {
            await node.Value.Task.ConfigureAwait(false);
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            LinkedList<TaskCompletionSource> lane = _logins.Count > 0 ? _logins : _registrations;
            if (lane.First is { } next)
            {
                lane.RemoveFirst();
                next.Value.SetResult();
                return;
            }
            _free++;
        }
    }
}
