using System.Diagnostics;
using Parley.Server.Storage;

namespace Parley.Benchmarks;

/// <summary>
/// `store-cpu BATCH ROUNDS`: the CPU time (not the wall time, which the WAL's fsync dominates) the
/// SQLite store spends per message in the server's group commit, a batch of new messages to 200
/// recipients plus the acknowledgements of the batch before it, as <see cref="InboxCommitBenchmarks"/>
/// does. CPU time is what the server pays per message (BENCHMARKS §2 (g)); BenchmarkDotNet reports
/// only wall time. Prints two passes; the second is the one to read (the first includes the JIT).
/// </summary>
internal static class StoreCpu
{
    public static async Task RunAsync(int batch, int rounds)
    {
        string directory = Path.Combine(Path.GetTempPath(), "parley-store-cpu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(Path.Combine(directory, "parley.db"));
            byte[] body = new byte[256 + 60];
            Random.Shared.NextBytes(body);
            NewMessage[] rows = [.. Enumerable.Range(0, batch).Select(i => new NewMessage($"user{(i + 7) % 200}", $"user{i % 200}", 1, "application/vnd.parley.e2e", body, false))];
            InboxAck[] previous = [];
            for (int pass = 1; pass <= 2; pass++)
            {
                TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                long started = Stopwatch.GetTimestamp();
                for (int round = 0; round < rounds; round++)
                {
                    CommitResult result = await store.CommitAsync(rows, previous, CancellationToken.None);
                    previous = [.. result.Stored.Select(m => new InboxAck(m.Recipient, "", m.Id))];
                }
                double messages = (double)rounds * batch;
                double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / messages;
                double wall = Stopwatch.GetElapsedTime(started).TotalMicroseconds / messages;
                Console.WriteLine($"pass {pass}: batch {batch}, {messages:N0} messages: {cpu:F2} µs CPU and {wall:F2} µs wall per message");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
