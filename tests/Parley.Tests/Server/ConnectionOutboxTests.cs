using System.Threading.Channels;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>
/// The per-connection outbox (the hand-written replacement of a bounded Channel, decision 0013):
/// its bound, its order, how the one reader is woken, completion, abort and cancellation.
/// </summary>
public class ConnectionOutboxTests
{
    private static ErrorMessage Numbered(long n) => new(n, "test", "");

    private static List<long> Drain(ConnectionOutbox outbox)
    {
        List<long> seen = [];
        while (outbox.TryRead(out ServerMessage message))
        {
            seen.Add(((ErrorMessage)message).Ref);
        }
        return seen;
    }

    [Fact]
    public void Messages_come_out_in_the_order_they_went_in_across_growth_and_wrap_around()
    {
        ConnectionOutbox outbox = new(capacity: 64);
        List<long> expected = [];
        List<long> seen = [];
        long next = 0;
        // Uneven writes and reads move the head around the ring while it grows.
        for (int round = 0; round < 40; round++)
        {
            for (int i = 0; i < round % 7 + 1 && outbox.Count < 64; i++)
            {
                Assert.True(outbox.TryWrite(Numbered(next)));
                expected.Add(next++);
            }
            for (int i = 0; i < round % 5 && outbox.TryRead(out ServerMessage message); i++)
            {
                seen.Add(((ErrorMessage)message).Ref);
            }
        }
        seen.AddRange(Drain(outbox));
        Assert.Equal(expected, seen);
        Assert.Equal(0, outbox.Count);
    }

    [Fact]
    public void TryWrite_refuses_beyond_the_bound_and_takes_again_once_the_reader_made_room()
    {
        ConnectionOutbox outbox = new(capacity: 5);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(outbox.TryWrite(Numbered(i)));
        }
        Assert.False(outbox.TryWrite(Numbered(99)));
        Assert.Equal(5, outbox.Count);

        Assert.True(outbox.TryRead(out _));
        Assert.True(outbox.TryWrite(Numbered(5)));
        Assert.False(outbox.TryWrite(Numbered(100)));
        Assert.Equal([1, 2, 3, 4, 5], Drain(outbox));
    }

    [Fact]
    public async Task Writers_beyond_the_bound_wait_and_enter_in_arrival_order_as_the_reader_makes_room()
    {
        ConnectionOutbox outbox = new(capacity: 2);
        await outbox.WriteAsync(Numbered(0));
        await outbox.WriteAsync(Numbered(1));
        ValueTask second = outbox.WriteAsync(Numbered(2));
        ValueTask third = outbox.WriteAsync(Numbered(3));
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);
        Assert.Equal(2, outbox.Count);

        // Each read lets exactly one waiting writer in, the oldest.
        Assert.True(outbox.TryRead(out ServerMessage first));
        Assert.Equal(0, ((ErrorMessage)first).Ref);
        await second.AsTask().WithTimeout();
        Assert.False(third.IsCompleted);
        Assert.Equal(2, outbox.Count);

        Assert.True(outbox.TryRead(out _));
        await third.AsTask().WithTimeout();
        Assert.Equal([2, 3], Drain(outbox));
    }

    [Fact]
    public async Task The_waiting_reader_wakes_when_a_message_arrives_and_returns_at_once_when_one_is_queued()
    {
        ConnectionOutbox outbox = new(capacity: 4);
        for (int round = 0; round < 3; round++)
        {
            // The same wait object serves each round: a wait, a wake-up, a read.
            ValueTask<bool> wait = outbox.WaitToReadAsync();
            Assert.False(wait.IsCompleted);
            Assert.True(outbox.TryWrite(Numbered(round)));
            Assert.True(await wait.AsTask().WithTimeout());
            Assert.Equal([round], Drain(outbox));
        }
        Assert.True(outbox.TryWrite(Numbered(9)));
        ValueTask<bool> ready = outbox.WaitToReadAsync();
        Assert.True(ready.IsCompletedSuccessfully);
        Assert.True(await ready);
    }

    [Fact]
    public async Task Completing_lets_the_reader_drain_then_ends_its_wait_and_refuses_every_writer()
    {
        ConnectionOutbox outbox = new(capacity: 2);
        Assert.True(outbox.TryWrite(Numbered(0)));
        Assert.True(outbox.TryWrite(Numbered(1)));
        ValueTask blocked = outbox.WriteAsync(Numbered(2));

        Assert.True(outbox.TryComplete());
        Assert.False(outbox.TryComplete());
        await Assert.ThrowsAsync<ChannelClosedException>(() => blocked.AsTask().WithTimeout());
        Assert.False(outbox.TryWrite(Numbered(3)));
        await Assert.ThrowsAsync<ChannelClosedException>(() => outbox.WriteAsync(Numbered(4)).AsTask());

        // What was queued before completion still comes out; then the reader learns it is over.
        Assert.True(await outbox.WaitToReadAsync());
        Assert.Equal([0, 1], Drain(outbox));
        Assert.False(await outbox.WaitToReadAsync());
    }

    [Fact]
    public async Task Completing_wakes_a_reader_that_waits_on_an_empty_outbox()
    {
        ConnectionOutbox outbox = new(capacity: 2);
        ValueTask<bool> wait = outbox.WaitToReadAsync();
        Assert.False(wait.IsCompleted);
        outbox.TryComplete();
        Assert.False(await wait.AsTask().WithTimeout());
    }

    [Fact]
    public async Task Aborting_ends_the_readers_wait_at_once_even_with_messages_queued()
    {
        ConnectionOutbox outbox = new(capacity: 2);
        ValueTask<bool> wait = outbox.WaitToReadAsync();
        outbox.Abort();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask().WithTimeout());

        ConnectionOutbox busy = new(capacity: 1);
        Assert.True(busy.TryWrite(Numbered(0)));
        ValueTask blocked = busy.WriteAsync(Numbered(1));
        Assert.False(blocked.IsCompleted);
        busy.Abort();
        await Assert.ThrowsAsync<ChannelClosedException>(() => blocked.AsTask().WithTimeout());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy.WaitToReadAsync().AsTask());
        Assert.False(busy.TryWrite(Numbered(2)));
    }

    [Fact]
    public async Task A_cancelled_writer_gives_up_its_place_and_its_message_never_comes_out()
    {
        ConnectionOutbox outbox = new(capacity: 1);
        Assert.True(outbox.TryWrite(Numbered(0)));
        using CancellationTokenSource cancel = new();
        ValueTask cancelled = outbox.WriteAsync(Numbered(1), cancel.Token);
        ValueTask kept = outbox.WriteAsync(Numbered(2));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.AsTask().WithTimeout());

        // Reading 0 makes room for the next writer still waiting: 2, not the cancelled 1.
        Assert.Equal([0, 2], Drain(outbox));
        await kept.AsTask().WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => outbox.WriteAsync(Numbered(3), cancel.Token).AsTask());
    }

    [Fact]
    public async Task A_cancelled_reader_wait_throws_and_a_later_wait_is_not_disturbed_by_it()
    {
        ConnectionOutbox outbox = new(capacity: 2);
        using CancellationTokenSource first = new();
        ValueTask<bool> wait = outbox.WaitToReadAsync(first.Token);
        first.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask().WithTimeout());

        // A wait woken by a message unregisters its token: cancelling it afterwards touches nothing.
        using CancellationTokenSource second = new();
        ValueTask<bool> woken = outbox.WaitToReadAsync(second.Token);
        Assert.True(outbox.TryWrite(Numbered(1)));
        Assert.True(await woken.AsTask().WithTimeout());
        Assert.Equal([1], Drain(outbox));
        ValueTask<bool> untouched = outbox.WaitToReadAsync();
        second.Cancel();
        Assert.False(untouched.IsCompleted);
        Assert.True(outbox.TryWrite(Numbered(2)));
        Assert.True(await untouched.AsTask().WithTimeout());
    }

    [Fact]
    public void One_reader_only()
    {
        ConnectionOutbox outbox = new(capacity: 2);
        _ = outbox.WaitToReadAsync();
        Assert.Throws<InvalidOperationException>(() => outbox.WaitToReadAsync());
    }

    [Fact]
    public void An_emptied_outbox_lets_a_bursts_slots_go()
    {
        ConnectionOutbox outbox = new(capacity: 1024);
        Assert.Equal(0, outbox.SlotsHeld);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(outbox.TryWrite(Numbered(i)));
        }
        Assert.True(outbox.SlotsHeld >= 1000);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), Drain(outbox));
        Assert.True(outbox.SlotsHeld <= ConnectionOutbox.SlotsKeptWhenEmpty, $"{outbox.SlotsHeld} slots kept by an empty outbox");
    }

    [Fact]
    public async Task Many_writers_and_one_reader_lose_nothing_and_keep_each_writers_order()
    {
        const int Writers = 8;
        const int PerWriter = 2000;
        ConnectionOutbox outbox = new(capacity: 16);
        Task[] writers = [.. Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                // Half wait for room, half are refused when full and retry: both paths run.
                ErrorMessage message = Numbered((long)w * PerWriter + i);
                if (i % 2 == 0)
                {
                    await outbox.WriteAsync(message);
                }
                else
                {
                    while (!outbox.TryWrite(message))
                    {
                        await Task.Yield();
                    }
                }
            }
        }))];
        Task allWritten = Task.WhenAll(writers).ContinueWith(_ => outbox.TryComplete(), TaskScheduler.Default);
        long[] lastOf = [.. Enumerable.Repeat(-1L, Writers)];
        int received = 0;
        while (await outbox.WaitToReadAsync().AsTask().WithTimeout())
        {
            while (outbox.TryRead(out ServerMessage message))
            {
                long n = ((ErrorMessage)message).Ref;
                int writer = (int)(n / PerWriter);
                Assert.True(n > lastOf[writer], $"writer {writer}: {n} after {lastOf[writer]}");
                lastOf[writer] = n;
                received++;
            }
        }
        await allWritten.WithTimeout();
        Assert.Equal(Writers * PerWriter, received);
    }
}
