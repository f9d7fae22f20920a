using System.Buffers.Binary;
using System.Text.Json;
using Parley.Bench;
using Parley.Tests.Support;

namespace Parley.Tests.Bench;

/// <summary>`parley bench plot`: the picture BENCHMARKS.md shows of saved reports.</summary>
public class BenchChartTests
{
    private static BenchReport Report(double rate, params long[] perSecond) => new()
    {
        Scenario = "messages",
        Clients = 200,
        Group = "x25519",
        Size = 256,
        DeliveredPerSecond = rate,
        Timeline = [.. perSecond.Select((delivered, i) => new TimelinePoint(i + 1, 1, delivered, 12.5))],
    };

    /// <summary>Width and height from a PNG's IHDR chunk, after checking the signature.</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Fact]
    public void Two_reports_are_drawn_into_one_png_of_the_documented_size()
    {
        using TempDirectory temp = new();
        string path = temp.File("before-after.png");

        BenchChart.Timelines([("before", Report(58_000, 57_000, 59_000, 58_000)), ("after", Report(80_000, 79_000, 81_000, 80_000))], path);

        Assert.Equal((BenchChart.Width, BenchChart.Height), PngSize(path));
    }

    [Fact]
    public void Reports_without_a_timeline_are_refused_with_what_to_plot_instead()
    {
        using TempDirectory temp = new();
        ArgumentException refused = Assert.Throws<ArgumentException>(() => BenchChart.Timelines([("idle", Report(0))], temp.File("x.png")));
        Assert.Contains("messages run", refused.Message);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    [Fact]
    public async Task A_saved_run_is_plotted_through_the_executable_and_a_missing_report_is_a_usage_error()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        Dictionary<string, string> home = new() { ["PARLEY_HOME"] = temp.File("home") };
        await using (ParleyProcess bench = ParleyProcess.Start(temp.Path, home,
            "bench", "--host", "127.0.0.1", "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--clients", "4", "--duration", "2s", "--rate", "200", "--size", "100", "--json"))
        {
            Assert.Equal(0, await bench.WaitForExitAsync());
            BenchReport report = JsonSerializer.Deserialize<BenchReport>(bench.Stdout)!;
            Assert.NotEmpty(report.Timeline);
            // Each point counts the second before it; what arrived after the last tick is in the total only.
            Assert.InRange(report.Timeline.Sum(p => p.Delivered), 1, report.Delivered);
            File.WriteAllText(temp.File("run.json"), bench.Stdout);
        }

        (int exit, string stdout, _) = await ParleyProcess.RunAsync(temp.Path, "bench", "plot", "--out", "chart.png", "this run=run.json").WithTimeout();
        Assert.Equal(0, exit);
        Assert.Contains("wrote chart.png (1 report)", stdout);
        Assert.Equal((BenchChart.Width, BenchChart.Height), PngSize(temp.File("chart.png")));

        (int missing, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "bench", "plot", "--out", "other.png", "absent.json").WithTimeout();
        Assert.Equal(2, missing);
        Assert.Contains("cannot read the report absent.json", stderr);
        Assert.False(File.Exists(temp.File("other.png")));
    }
}
