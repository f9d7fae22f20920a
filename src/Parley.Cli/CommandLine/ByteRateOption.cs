// Rates read the way people write them, as curl --limit-rate and scp -l take them: "512K", "2MiB",
// "1.5MB", a plain number of bytes, each optionally with "/s". K, M and G alone and KiB, MiB, GiB
// are binary (1024); KB, MB and GB are decimal (1000).
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Parley.Protocol.Text;

namespace Parley.Cli.CommandLine;

internal static class ByteRateOption
{
    /// <summary>The slowest rate taken: below it a single file chunk would wait for minutes.</summary>
    public const long MinBytesPerSecond = 1024;

    private static readonly (string Suffix, long Factor)[] s_units =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30),
        ("KB", 1000), ("MB", 1000_000), ("GB", 1000_000_000),
        ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30),
        ("B", 1),
    ];

    public static bool TryParse(string? text, out long bytesPerSecond, out string error)
    {
        bytesPerSecond = 0;
        string value = text?.Trim() ?? "";
        if (value.EndsWith("/s", StringComparison.OrdinalIgnoreCase))
        {
            value = value[..^2].TrimEnd();
        }
        long factor = 1;
        foreach ((string suffix, long unit) in s_units)
        {
            if (value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                value = value[..^suffix.Length].TrimEnd();
                factor = unit;
                break;
            }
        }
        if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number) || number > long.MaxValue / factor)
        {
            error = $"'{UntrustedText.Sanitize(text, 40)}' is not a rate (for example 512K, 2MiB or 1.5MB, per second)";
            return false;
        }
        bytesPerSecond = (long)(number * factor);
        if (bytesPerSecond < MinBytesPerSecond)
        {
            error = $"'{UntrustedText.Sanitize(text, 40)}' is too slow: at least 1K a second";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>An optional rate in bytes a second (null when not given).</summary>
    public static Option<long?> Optional(string name, string description)
    {
        Option<long?> option = new(name) { Description = description, HelpName = "RATE" };
        option.CustomParser = result =>
        {
            string? text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
            if (TryParse(text, out long rate, out string error))
            {
                return rate;
            }
            result.AddError($"{name}: {error}");
            return null;
        };
        return option;
    }
}
