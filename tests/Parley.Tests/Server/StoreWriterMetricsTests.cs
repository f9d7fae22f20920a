using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>The store writer's meter ("Parley.Server"), read the way dotnet-counters reads it: through a MeterListener.</summary>
public class StoreWriterMetricsTests
{
    [Fact]
    public async Task Commits_operations_and_the_loops_busy_time_are_counted_for_each_server_apart()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TestServer other = await TestServer.StartAsync();
        Meter meter = server.Server.StoreWriterMeter;
        Assert.Equal(StoreWriterMetrics.MeterName, meter.Name);
        ConcurrentDictionary<string, double> totals = new();
        using MeterListener listener = new();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this server's writer: the other server in this process has a meter of the same name.
            if (ReferenceEquals(instrument.Meter, meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => totals.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => totals.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        listener.Start();

        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient alice = await server.LoginAsync("alice");
        await using ChatClient carol = await other.LoginAsync("carol");
        for (int i = 0; i < 10; i++)
        {
            await alice.SendTextAsync("bob", $"message {i}").WithTimeout();
            await carol.SendTextAsync("carol", "elsewhere").WithTimeout();
        }
        for (int i = 0; i < 10; i++)
        {
            await bobInbox.NextAsync();
        }

        // Ten messages, then bob's acknowledgements of them: at least 20 operations, committed.
        using CancellationTokenSource deadline = new(TestTimeouts.Event);
        while (totals.GetValueOrDefault("parley.store_writer.operations") < 20)
        {
            await Task.Delay(10, deadline.Token);
        }
        double operations = totals["parley.store_writer.operations"];
        double commits = totals["parley.store_writer.commits"];
        Assert.InRange(commits, 1, operations);
        // Carol's messages went through the other server's writer, not into these counts; login
        // records (devices, tokens) are not the writer's.
        Assert.InRange(operations, 20, 20 + 10);
        Assert.InRange(totals["parley.store_writer.commit"], double.Epsilon, totals["parley.store_writer.busy"]);
    }
}
