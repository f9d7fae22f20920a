using BenchmarkDotNet.Attributes;
using Parley.Server.Storage;

namespace Parley.Benchmarks;

/// <summary>
/// The store's share of every 1:1 message (BENCHMARKS §2 (f)): one group commit as the server does it
/// at full load, a batch of new messages to 200 recipients plus the acknowledgements of the batch
/// before it, on the real SQLite store (WAL, synchronous=FULL, secure_delete) in the temp directory.
/// Divide by <see cref="Batch"/> for the cost per delivered message.
/// </summary>
public class InboxCommitBenchmarks
{
    private const int Recipients = 200;

    private string _directory = "";
    private SqliteMessageStore _store = null!;
    private NewMessage[] _rows = [];
    private InboxAck[] _previous = [];

    /// <summary>Messages per commit: what the writer's queue holds at ~30k msg/s, and a quieter moment.</summary>
    [Params(16, 256)]
    public int Batch { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "parley-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = await SqliteMessageStore.OpenAsync(Path.Combine(_directory, "parley.db"));
        byte[] body = new byte[256 + 60];
        Random.Shared.NextBytes(body);
        _rows = [.. Enumerable.Range(0, Batch).Select(i => new NewMessage($"user{(i + 7) % Recipients}", $"user{i % Recipients}", 1, "application/vnd.parley.e2e", body, false))];
    }

    [Benchmark(Description = "commit a batch of messages and acknowledge the batch before")]
    public async Task<int> CommitAndAcknowledge()
    {
        CommitResult result = await _store.CommitAsync(_rows, _previous, CancellationToken.None);
        _previous = [.. result.Stored.Select(m => new InboxAck(m.Recipient, "", m.Id))];
        return result.Stored.Count;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
