// The picture of one or more `parley bench --json` reports (ScottPlot 5): messages delivered each
// second of the measured run, one line per report, labelled with its rate and the server's CPU per
// message. Laid side by side, a before and an after show at a glance what a table of ranges says
// (BENCHMARKS.md).
using ScottPlot;

namespace Parley.Bench;

public static class BenchChart
{
    public const int Width = 1000;
    public const int Height = 500;

    /// <summary>Draws the reports' timelines into a PNG at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">No report has a timeline (an idle run, or a report from before timelines).</exception>
    public static void Timelines(IReadOnlyList<(string Label, BenchReport Report)> reports, string path)
    {
        if (!reports.Any(r => r.Report.Timeline.Any(p => p.Interval >= TimelinePoint.MinimumInterval)))
        {
            throw new ArgumentException("none of the reports has a timeline: plot the JSON of a messages run (parley bench --json)");
        }
        Plot plot = new();
        foreach ((string label, BenchReport report) in reports)
        {
            if (report.Timeline.Count == 0)
            {
                continue;
            }
            TimelinePoint[] points = [.. report.Timeline.Where(p => p.Interval >= TimelinePoint.MinimumInterval)];
            double[] seconds = [.. points.Select(p => p.Seconds)];
            double[] delivered = [.. points.Select(p => p.DeliveredPerSecond)];
            ScottPlot.Plottables.Scatter line = plot.Add.Scatter(seconds, delivered);
            line.LegendText = Legend(label, report);
            line.MarkerSize = 3;
        }
        BenchReport first = reports[0].Report;
        plot.Title($"Messages delivered each second: {first.Clients} clients × {first.Size} B");
        plot.XLabel("seconds of the measured run");
        plot.YLabel("delivered per second");
        plot.Axes.Bottom.Min = 0;
        plot.Axes.SetLimitsY(0, reports.SelectMany(r => r.Report.Timeline).Where(p => p.Interval >= TimelinePoint.MinimumInterval)
            .Select(p => p.DeliveredPerSecond).DefaultIfEmpty(1).Max() * 1.1);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }

    private static string Legend(string label, BenchReport report)
    {
        string cpu = report.Cpu.ServerMicrosecondsPerMessage is double server ? $", server {server:0.0} µs/msg" : "";
        return $"{label}: {report.DeliveredPerSecond:N0} msg/s{cpu}, p99 {report.Latency.P99Ms:0.0} ms";
    }
}
