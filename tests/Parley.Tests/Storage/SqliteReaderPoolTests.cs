using System.Text;
using Microsoft.Data.Sqlite;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Storage;

/// <summary>
/// The login's reads on compiled statements (SqliteReader, SqliteReaderPool): a kept reader sees
/// every commit made after its last read, holds no read transaction between reads (a full WAL
/// checkpoint goes through), readers kept idle stay within their bound under concurrent reads,
/// and a closed store reads no more. The rows themselves are the store contract's
/// (SqliteStoreContractTests runs it on these readers).
/// </summary>
public sealed class SqliteReaderPoolTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string DatabasePath => _directory.File("parley.db");

    private static NewMessage To(string recipient, string body) =>
        new("sender", recipient, 1, "text/plain", Encoding.UTF8.GetBytes(body), Broadcast: false, "", "sender-device");

    [Fact]
    public async Task A_kept_reader_sees_each_commit_and_deletion_made_after_its_last_read()
    {
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(DatabasePath);
        for (int round = 1; round <= 3; round++)
        {
            await store.CommitAsync([To("alice", $"m{round}")], [], CancellationToken.None);
            IReadOnlyList<StoredMessage> inbox = await store.LoadInboxAsync("alice", "phone", 0, 100, long.MaxValue, CancellationToken.None);
            StoredMessage only = Assert.Single(inbox);
            Assert.Equal($"m{round}", Encoding.UTF8.GetString(only.Body));
            await store.CommitAsync([], [new InboxAck("alice", "phone", only.Id)], CancellationToken.None);
            Assert.Empty(await store.LoadInboxAsync("alice", "phone", 0, 100, long.MaxValue, CancellationToken.None));
        }
        Assert.Null(await store.FindAccountAsync("alice", CancellationToken.None));
        Account alice = new("alice", new PasswordVerifier("pbkdf2-sha256", 1000, [1, 2, 3], [4, 5]), 7, "id-of-alice");
        Assert.True(await store.TryCreateAccountAsync(alice, CancellationToken.None));
        Account? found = await store.FindAccountAsync("alice", CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal((alice.Username, alice.CreatedAt, alice.AccountId, alice.Password.Algorithm, alice.Password.Iterations),
            (found.Username, found.CreatedAt, found.AccountId, found.Password.Algorithm, found.Password.Iterations));
        Assert.Equal(alice.Password.Salt, found.Password.Salt);
        Assert.Equal(alice.Password.Hash, found.Password.Hash);
    }

    [Fact]
    public async Task Readers_kept_between_reads_hold_no_read_transaction_so_a_full_checkpoint_completes()
    {
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(DatabasePath);
        await store.CommitAsync([To("alice", "one"), To("alice", "two")], [], CancellationToken.None);
        // A page that stops early (limit 1) leaves its statement mid-result unless it is reset.
        Assert.Single(await store.LoadInboxAsync("alice", "", 0, 1, long.MaxValue, CancellationToken.None));
        Assert.Null(await store.FindDeviceTokenAsync(new byte[32], CancellationToken.None));
        await store.CommitAsync([To("alice", "three")], [], CancellationToken.None);

        await using SqliteConnection other = new(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        await other.OpenAsync();
        await using SqliteCommand checkpoint = other.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await using SqliteDataReader result = await checkpoint.ExecuteReaderAsync();
        Assert.True(await result.ReadAsync());
        Assert.Equal(0, result.GetInt32(0)); // busy: 0 means no reader held the log back
    }

    [Fact]
    public async Task Pages_of_different_sizes_on_one_reader_each_hold_their_own_limit()
    {
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(DatabasePath);
        await store.CommitAsync([To("alice", "1"), To("alice", "2"), To("alice", "3")], [], CancellationToken.None);
        foreach (int limit in new[] { 2, 1, 3, 2, 100 })
        {
            IReadOnlyList<StoredMessage> page = await store.LoadInboxAsync("alice", "", 0, limit, long.MaxValue, CancellationToken.None);
            Assert.Equal(Math.Min(limit, 3), page.Count);
        }
        Assert.Equal([2L, 3L], (await store.LoadInboxAsync("alice", "", 1, 2, long.MaxValue, CancellationToken.None)).Select(m => m.Id));
    }

    [Fact]
    public async Task Concurrent_reads_all_answer_and_the_readers_kept_idle_stay_within_the_bound()
    {
        using SqliteReaderPool pool = new(await CreateDatabaseAsync());
        int[] answers = new int[64];
        await Parallel.ForAsync(0, answers.Length, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            await Task.Yield();
            answers[i] = pool.Read(i, static (reader, n) => reader.FindAccount($"user-{n}") is null ? n : -1);
        });
        Assert.Equal(Enumerable.Range(0, answers.Length), answers);
        Assert.InRange(pool.IdleCount, 1, SqliteReaderPool.MaxIdle);
    }

    [Fact]
    public async Task A_closed_pool_closes_its_readers_and_refuses_to_read()
    {
        SqliteReaderPool pool = new(await CreateDatabaseAsync());
        Assert.Null(pool.Read("alice", static (reader, user) => reader.FindAccount(user)));
        Assert.Equal(1, pool.IdleCount);
        pool.Dispose();
        Assert.Equal(0, pool.IdleCount);
        Assert.Throws<ObjectDisposedException>(() => pool.Read("alice", static (reader, user) => reader.FindAccount(user)));
    }

    /// <summary>A store's file with its schema, closed again; returns the connection string its readers use.</summary>
    private async Task<string> CreateDatabaseAsync()
    {
        await (await SqliteMessageStore.OpenAsync(DatabasePath)).DisposeAsync();
        return new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    public void Dispose() => _directory.Dispose();
}
