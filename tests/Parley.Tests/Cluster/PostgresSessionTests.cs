using System.Threading.Channels;
using Npgsql;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Storage.Postgres;
using Parley.Tests.Support;

namespace Parley.Tests.Cluster;

/// <summary>
/// What one node's session can make the others wait for in PostgreSQL (found by review): a node
/// lost in the middle of a transaction, and the sweep's VACUUM meeting a lock.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class PostgresSessionTests(ClusterEngines engines)
{
    /// <summary>
    /// A node that went away holding alice's inbox row (its machine lost mid-commit: the socket is
    /// never closed) is taken for gone after 10 s idle in its transaction, and the other node's
    /// send to alice is acknowledged. Before, the row stayed locked until the database's TCP stack
    /// gave up (about two hours), and every send naming alice failed after its 30 s timeout.
    /// </summary>
    [EnginesFact]
    public async Task A_node_lost_inside_a_transaction_holds_its_locks_only_a_few_seconds()
    {
        string connectionString = await engines.NewDatabaseAsync();
        string store = engines.StoreUrl(connectionString);
        await using TestServer server = await TestServer.StartAsync(o => o with { Store = store, Bus = engines.NewBusUrl() });
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: aliceInbox);
        await using ChatClient bob = await server.LoginAsync("bob");
        await bob.SendTextAsync("alice", "before").WithTimeout();
        Assert.Equal("before", (await aliceInbox.NextAsync()).Text());

        // The lost node: a session opened as every node opens its own, in the middle of a commit to alice.
        await using NpgsqlConnection lost = new(new NpgsqlConnectionStringBuilder(PostgresAddress.ToConnectionString(store)) { Pooling = false }.ConnectionString);
        await lost.OpenAsync();
        await using NpgsqlTransaction transaction = await lost.BeginTransactionAsync();
        await using (NpgsqlCommand hold = new("SELECT last_seq FROM inbox_heads WHERE recipient = 'alice' FOR UPDATE", lost, transaction))
        {
            Assert.NotNull(await hold.ExecuteScalarAsync());
        }

        SendResult sent = await bob.SendTextAsync("alice", "while a node is lost").WithTimeout();
        Assert.Equal(DeliveryStatus.Delivered, sent.Status);
        ChatMessage received = await aliceInbox.NextAsync();
        Assert.Equal(("while a node is lost", sent.MessageId), (received.Text(), received.MessageId));
        // PostgreSQL ended the lost session; its transaction took nothing with it.
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using NpgsqlCommand next = new("SELECT 1", lost, transaction);
            await next.ExecuteScalarAsync();
        });
    }

    /// <summary>
    /// The sweep's VACUUM of the messages table, meeting a lock it needs (here an operator's
    /// maintenance holding it), neither holds back the sends' acknowledgements nor hangs the sweep:
    /// it runs beside the writer and skips a locked table until the next sweep. Before, it ran in
    /// the writer's loop, and no send was acknowledged until its 30 s timeout.
    /// </summary>
    [EnginesFact]
    public async Task The_sweeps_vacuum_neither_holds_back_sends_nor_waits_for_a_lock()
    {
        string connectionString = await engines.NewDatabaseAsync();
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Store = engines.StoreUrl(connectionString), Bus = engines.NewBusUrl(), Time = clock, SweepInterval = TimeSpan.FromHours(1),
        });
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: aliceInbox);
        await using ChatClient bob = await server.LoginAsync("bob");

        await using NpgsqlConnection operatorSession = new(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await operatorSession.OpenAsync();
        await using NpgsqlTransaction maintenance = await operatorSession.BeginTransactionAsync();
        await using (NpgsqlCommand hold = new("LOCK TABLE messages IN SHARE UPDATE EXCLUSIVE MODE", operatorSession, maintenance))
        {
            await hold.ExecuteNonQueryAsync();
        }

        Task sweep = server.Server.Maintenance.NextSweep;
        clock.Advance(TimeSpan.FromHours(1));
        SendResult sent = await bob.SendTextAsync("alice", "during the sweep").WithTimeout();
        ChatMessage received = await aliceInbox.NextAsync();
        Assert.Equal(("during the sweep", sent.MessageId), (received.Text(), received.MessageId));
        await sweep.WithTimeout();
        await maintenance.RollbackAsync();
    }

    /// <summary>
    /// A pool with every connection in use answers the next request storage_unavailable, and keeps
    /// its connections: the busy ones go back to the pool and serve the requests after. Before, the
    /// pool was cleared as for a database that went away, so under load each later request opened
    /// and authenticated a connection of its own again (found by the cluster review).
    /// </summary>
    [EnginesFact]
    public async Task A_pool_that_is_only_busy_keeps_its_connections()
    {
        string connectionString = await engines.NewDatabaseAsync();
        string database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using PostgresMessageStore store = await PostgresMessageStore.OpenAsync(
            new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 2, Timeout = 1 }.ConnectionString);
        await using NpgsqlConnection admin = new(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        async Task<int[]> SessionsAsync()
        {
            await using NpgsqlCommand command = new("SELECT pid FROM pg_stat_activity WHERE datname = @d AND pid <> pg_backend_pid() ORDER BY pid", admin);
            command.Parameters.AddWithValue("d", database);
            List<int> pids = [];
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
            }
            return [.. pids];
        }

        IAsyncDisposable first = await store.LockGroupAsync("one", CancellationToken.None);
        IAsyncDisposable second = await store.LockGroupAsync("two", CancellationToken.None);
        int[] pooled = await SessionsAsync();
        Assert.Equal(2, pooled.Length);
        await Assert.ThrowsAsync<Parley.Server.Storage.StorageUnavailableException>(() => store.AccountExistsAsync("alice", CancellationToken.None));
        await first.DisposeAsync();
        await second.DisposeAsync();

        Assert.False(await store.AccountExistsAsync("alice", CancellationToken.None));
        Assert.False(await store.AccountExistsAsync("bob", CancellationToken.None));
        Assert.Equal(pooled, await SessionsAsync());
    }
}
