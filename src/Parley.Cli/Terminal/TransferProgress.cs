// The progress of a file transfer as the user sees it: percentage, rate and time left. On a
// terminal it is drawn in the prompt line, which the line editor redraws in place (nothing
// scrolls); in scripts and with --json it is a [PROGRESS] line at every tenth, so a log stays short.
using System.Globalization;
using Parley.Client.Files;

namespace Parley.Cli.Terminal;

internal sealed class TransferProgress(ChatConsole console, string what, string prompt, TimeProvider time) : IProgress<FileProgress>
{
    private static readonly TimeSpan s_redrawEvery = TimeSpan.FromMilliseconds(200);

    private readonly long _startedAt = time.GetTimestamp();
    private long _firstDone = -1;
    private long _lastDrawn = long.MinValue;
    private int _lastTenth = -1;

    public void Report(FileProgress value)
    {
        if (_firstDone < 0)
        {
            // A resumed transfer starts above 0: the rate counts only what moves now.
            _firstDone = value.Done;
        }
        string line = Describe(value);
        if (console.Interactive && !console.Json)
        {
            long now = time.GetTimestamp();
            if (value.Done < value.Total && _lastDrawn != long.MinValue && time.GetElapsedTime(_lastDrawn, now) < s_redrawEvery)
            {
                return;
            }
            _lastDrawn = now;
            console.SetPrompt($"[{line}] {prompt}");
            return;
        }
        int tenth = value.Total == 0 ? 10 : (int)(value.Done * 10 / value.Total);
        if (tenth != _lastTenth)
        {
            _lastTenth = tenth;
            console.WriteLine($"[PROGRESS] {line}");
        }
    }

    /// <summary>Puts the ordinary prompt back.</summary>
    public void Done()
    {
        if (console.Interactive && !console.Json)
        {
            console.SetPrompt(prompt);
        }
    }

    private string Describe(FileProgress value)
    {
        double seconds = time.GetElapsedTime(_startedAt).TotalSeconds;
        double rate = seconds > 0 ? (value.Done - _firstDone) / seconds : 0;
        string left = rate > 0 ? Duration((value.Total - value.Done) / rate) : "--:--";
        int percent = (int)Math.Floor(value.Fraction * 100);
        return string.Create(CultureInfo.InvariantCulture, $"{what} {percent}% {Sizes.Format(value.Done)} of {Sizes.Format(value.Total)}, {Sizes.Format((long)rate)}/s, {left} left");
    }

    internal static string Duration(double seconds)
    {
        TimeSpan span = TimeSpan.FromSeconds(Math.Min(seconds, 359_999));
        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}:{span.Minutes:00}:{span.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}:{span.Seconds:00}");
    }
}

/// <summary>Byte counts for people: 512 B, 2.1 KiB, 2.1 MiB, 1.0 GiB.</summary>
internal static class Sizes
{
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
