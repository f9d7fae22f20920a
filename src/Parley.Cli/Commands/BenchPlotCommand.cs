using System.CommandLine;
using System.Text.Json;
using Parley.Bench;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

/// <summary>
/// <c>parley bench plot --out FILE.png [LABEL=]REPORT.json …</c>: draws reports saved with
/// <c>parley bench --json</c>, one line each, for BENCHMARKS.md's before-and-after pictures.
/// </summary>
internal static class BenchPlotCommand
{
    internal static Command Create()
    {
        Option<string> output = new("--out", "-o") { Description = "The PNG to write", Required = true };
        Argument<string[]> reports = new("reports")
        {
            Description = "Reports from parley bench --json, each as LABEL=FILE or FILE (labelled by its name)",
            Arity = ArgumentArity.OneOrMore,
        };
        Command command = new("plot", "Draw the delivered-per-second timelines of saved bench reports into a PNG") { output, reports };
        command.SetAction(result =>
        {
            List<(string, BenchReport)> loaded = [];
            foreach (string item in result.GetValue(reports)!)
            {
                int equals = item.IndexOf('=', StringComparison.Ordinal);
                string path = equals > 0 ? item[(equals + 1)..] : item;
                string label = equals > 0 ? item[..equals] : Path.GetFileNameWithoutExtension(item);
                try
                {
                    BenchReport report = JsonSerializer.Deserialize<BenchReport>(File.ReadAllText(path))
                        ?? throw new JsonException("the file holds null");
                    loaded.Add((label, report));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
                {
                    Console.Error.WriteLine($"parley bench plot: cannot read the report {UntrustedText.Sanitize(path)}: {UntrustedText.Sanitize(e.Message)}");
                    return ExitCodes.Usage;
                }
            }
            string target = result.GetValue(output)!;
            try
            {
                BenchChart.Timelines(loaded, target);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"parley bench plot: {UntrustedText.Sanitize(e.Message)}");
                return ExitCodes.Failure;
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
            {
                // Parley.Cli.csproj ships SkiaSharp's native library for the server platforms only.
                Console.Error.WriteLine($"parley bench plot: drawing needs SkiaSharp's native library, shipped for linux-x64 and linux-arm64 only ({UntrustedText.Sanitize(e.Message)})");
                return ExitCodes.Failure;
            }
            Console.WriteLine($"parley bench plot: wrote {UntrustedText.Sanitize(target)} ({loaded.Count} report{(loaded.Count == 1 ? "" : "s")})");
            return ExitCodes.Success;
        });
        return command;
    }
}
