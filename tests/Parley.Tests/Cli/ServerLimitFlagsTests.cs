using Parley.Tests.Support;

namespace Parley.Tests.Cli;

public class ServerLimitFlagsTests
{
    [Fact]
    public async Task The_server_lists_its_delivery_bounds_and_refuses_one_out_of_range_before_creating_anything()
    {
        using TempDirectory temp = new();
        (int helpCode, string help, _) = await ParleyProcess.RunAsync(temp.Path, "server", "--help");
        Assert.Equal(0, helpCode);
        foreach (string flag in new[] { "--max-outbox-bytes", "--max-inbox-messages", "--max-inbox-bytes", "--sender-messages-per-second", "--sender-message-burst",
            "--sender-bytes-per-second", "--sender-byte-burst", "--max-broadcast-recipients", "--max-group-members", "--max-groups-per-user", "--message-expiry-days", "--min-free-disk-bytes",
            "--max-stored-messages", "--inbox-segment-bytes" })
        {
            Assert.Contains(flag, help);
        }

        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "server", "--port", "0", "--data", "data", "--max-inbox-messages", "0");
        Assert.Equal(2, code);
        Assert.Contains("inbox quota", stderr);
        Assert.False(Directory.Exists(temp.File("data")));

        (int segmentCode, _, string segmentError) = await ParleyProcess.RunAsync(temp.Path, "server", "--port", "0", "--data", "data", "--inbox-segment-bytes", "100");
        Assert.Equal(2, segmentCode);
        Assert.Contains("--inbox-segment-bytes", segmentError);
        (int storedCode, _, string storedError) = await ParleyProcess.RunAsync(temp.Path, "server", "--port", "0", "--data", "data", "--max-stored-messages", "0");
        Assert.Equal(2, storedCode);
        Assert.Contains("at least 1 undelivered message", storedError);
        Assert.False(Directory.Exists(temp.File("data")));
    }
}
