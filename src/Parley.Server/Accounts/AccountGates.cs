// At most one password check per account at a time. Without it, a burst of concurrent guesses
// would all pass the back-off check before any of their failures was recorded. A second attempt
// for the same account waits its turn and then meets the back-off its predecessors left behind.
namespace Parley.Server.Accounts;

public sealed class AccountGates
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    private sealed class Gate
    {
        public readonly SemaphoreSlim Turn = new(1, 1);
        public int Holders;
    }

    /// <summary>Waits until no other password check for <paramref name="account"/> is running; dispose to let the next one in.</summary>
    public async Task<IDisposable> EnterAsync(string account, CancellationToken cancellationToken)
    {
        Gate gate;
        lock (_gates)
        {
            if (!_gates.TryGetValue(account, out gate!))
            {
                gate = new Gate();
                _gates.Add(account, gate);
            }
            gate.Holders++;
        }
        try
        {
            await gate.Turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(account, gate);
            throw;
        }
        return new Turn(this, account, gate);
    }

    /// <summary>Accounts with a check running or waiting (entries are dropped when idle, so this stays bounded by connections).</summary>
    public int Count
    {
        get
        {
            lock (_gates)
            {
                return _gates.Count;
            }
        }
    }

    private void Leave(string account, Gate gate)
    {
        lock (_gates)
        {
            if (--gate.Holders == 0)
            {
                _gates.Remove(account);
                gate.Turn.Dispose();
            }
        }
    }

    private sealed class Turn(AccountGates owner, string account, Gate gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                gate.Turn.Release();
                owner.Leave(account, gate);
            }
        }
    }
}
