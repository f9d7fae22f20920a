using Parley.Cli.CommandLine;
using Parley.Client.Files;
using Parley.Tests.Support;

namespace Parley.Tests.Files;

/// <summary>`--file-rate`: the pacer holds each chunk until the bytes before it are due, and the option reads rates as people write them.</summary>
public class TransferPacerTests
{
    private const int Chunk = 64 * 1024;

    [Fact]
    public async Task Each_chunk_waits_until_the_bytes_before_it_are_due_at_the_rate()
    {
        ManualClock clock = new();
        TransferPacer pacer = new(Chunk, clock); // one chunk a second

        Assert.True(pacer.WaitAsync(Chunk).IsCompletedSuccessfully, "the first chunk goes at once");
        ValueTask second = pacer.WaitAsync(Chunk);
        Assert.False(second.IsCompleted, "the second chunk went before the first one's second was over");
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await second.AsTask().WaitAsync(TestTimeouts.Event);

        // Half a second later the third is half a second early.
        clock.Advance(TimeSpan.FromMilliseconds(500));
        ValueTask third = pacer.WaitAsync(Chunk);
        Assert.False(third.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        await third.AsTask().WaitAsync(TestTimeouts.Event);
    }

    [Fact]
    public async Task A_transfer_a_little_behind_catches_up_and_one_far_behind_counts_afresh_without_a_burst()
    {
        ManualClock clock = new();
        TransferPacer pacer = new(Chunk, clock);
        await pacer.WaitAsync(Chunk);

        // Half a second late for the second chunk: the third makes up for it and waits only half a second.
        clock.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.True(pacer.WaitAsync(Chunk).IsCompletedSuccessfully);
        ValueTask third = pacer.WaitAsync(Chunk);
        Assert.False(third.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        await third.AsTask().WaitAsync(TestTimeouts.Event);

        // A minute without sending (a pause): the next chunk goes, and the one after waits its second, not sixty in a burst.
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(pacer.WaitAsync(Chunk).IsCompletedSuccessfully);
        ValueTask next = pacer.WaitAsync(Chunk);
        Assert.False(next.IsCompleted, "a pause let the transfer burst past one second of credit");
        clock.Advance(TimeSpan.FromSeconds(1));
        await next.AsTask().WaitAsync(TestTimeouts.Event);
    }

    [Fact]
    public async Task A_wait_is_cancelled_when_the_transfer_is()
    {
        ManualClock clock = new();
        TransferPacer pacer = new(Chunk, clock);
        await pacer.WaitAsync(Chunk);
        using CancellationTokenSource stop = new();
        ValueTask waiting = pacer.WaitAsync(Chunk, stop.Token);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask());
    }

    [Fact]
    public async Task A_real_transfer_through_the_server_keeps_to_the_rate_on_both_sides()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        ManualClock clock = new();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        string path = FileTestKit.MakeFile(temp, "paced.bin", 4 * 4096);

        // Chunks of 4 KiB (4,112 bytes with their tag) at 4,112 bytes a second: four chunks wait three times on the clock.
        using SealedFileRecords records = FileTestKit.OpenRecords(temp.File("alice-home"));
        FileSender sender = new(alice.Client, new UploadJournal(records)) { ChunkSize = 4096, Pacer = new TransferPacer(4096 + 16, clock) };
        Task<UploadEntry> upload = sender.UploadAsync(path, ["bob"], "application/octet-stream", null);
        for (int second = 0; second < 3; second++)
        {
            await TestTimeouts.UntilAsync(() => upload.IsCompleted || clock.ArmedTimers > 0);
            Assert.False(upload.IsCompleted, $"the upload finished after {second} s of a 3 s pace");
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        UploadEntry entry = await upload.WaitAsync(TestTimeouts.Event);

        using Parley.EndToEnd.Files.FileOffer offer = FileSender.OfferFor(entry);
        string destination = temp.File("paced-copy.bin");
        FileReceiver receiver = new(bob.Client) { Pacer = new TransferPacer(4096 + 16, clock) };
        Task download = receiver.ReceiveAsync(offer, destination, null);
        for (int second = 0; second < 3; second++)
        {
            await TestTimeouts.UntilAsync(() => download.IsCompleted || clock.ArmedTimers > 0);
            Assert.False(download.IsCompleted, $"the download finished after {second} s of a 3 s pace");
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        await download.WaitAsync(TestTimeouts.Event);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(destination));
    }

    [Theory]
    [InlineData("2048", 2048)]
    [InlineData("512K", 512 * 1024)]
    [InlineData("512k/s", 512 * 1024)]
    [InlineData("2MiB", 2 * 1024 * 1024)]
    [InlineData(" 1.5 MB ", 1_500_000)]
    [InlineData("1G", 1024L * 1024 * 1024)]
    [InlineData("3 KB/s", 3000)]
    public void A_rate_is_read_as_people_write_it(string text, long expected)
    {
        Assert.True(ByteRateOption.TryParse(text, out long rate, out string error), error);
        Assert.Equal(expected, rate);
    }

    [Theory]
    [InlineData("", "is not a rate")]
    [InlineData("fast", "is not a rate")]
    [InlineData("-5M", "is not a rate")]
    [InlineData("2 parsecs", "is not a rate")]
    [InlineData("100", "too slow")]
    [InlineData("0", "too slow")]
    [InlineData("99999999999999999999G", "is not a rate")]
    public void A_rate_that_is_not_one_or_too_slow_is_refused_in_words(string text, string words)
    {
        Assert.False(ByteRateOption.TryParse(text, out _, out string error));
        Assert.Contains(words, error, StringComparison.Ordinal);
    }
}
