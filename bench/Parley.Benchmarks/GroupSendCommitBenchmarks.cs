using BenchmarkDotNet.Attributes;
using Parley.Server.Storage;

namespace Parley.Benchmarks;

/// <summary>
/// What one group_send to a 1,000-member group costs the server's store (PROTOCOL.md §11.7): the
/// same sender-key ciphertext committed as 1,000 inbox rows in one transaction of the real SQLite
/// store (WAL, synchronous=FULL, secure_delete), on a file in the temp directory.
/// </summary>
public class GroupSendCommitBenchmarks
{
    private const int Members = GroupFanOutBenchmarks.Members;

    private string _directory = "";
    private SqliteMessageStore _store = null!;
    private NewMessage[] _rows = [];

    /// <summary>A sender-key message of a 100-byte text: 25-byte header, 117 + 16 bytes sealed, 64-byte signature.</summary>
    [Params(222)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "parley-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = await SqliteMessageStore.OpenAsync(Path.Combine(_directory, "parley.db"));
        byte[] body = new byte[BodyBytes];
        Random.Shared.NextBytes(body);
        _rows = [.. Enumerable.Range(0, Members).Select(i => new NewMessage("alice", $"member{i}", 1, "application/vnd.parley.group", body, false, "", "a1b2c3d4e5f6"))];
    }

    [Benchmark(Description = "commit 1,000 rows of one group_send")]
    public async Task<int> CommitFanOut() => (await _store.CommitAsync(_rows, [], CancellationToken.None)).Stored.Count;

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
