using System.Diagnostics;
using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// tools/interop/check_vectors.py, the reading of PROTOCOL.md's vectors that shares no code with
/// Parley (python-cryptography, OpenSSL underneath), run against the document as it is, and against
/// a copy with one byte of a vector changed, which it must refuse.
/// </summary>
public partial class IndependentReadingTests
{
    [PythonCryptographyFact]
    public async Task The_independent_python_reading_reproduces_every_vector_of_the_document()
    {
        (int exit, string output) = await RunAsync(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));
        Assert.True(exit == 0, output);
        Match total = Total().Match(output);
        Assert.True(total.Success, output);
        Assert.True(int.Parse(total.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 15, output);
        Assert.Contains("OK  resumption", output);
        Assert.Contains("OK  compact: a record of three: two results and a message", output);
    }

    [PythonCryptographyFact]
    public async Task A_changed_byte_in_a_compact_vector_is_refused()
    {
        string document = await File.ReadAllTextAsync(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));
        // The send_result vector's status byte: delivered (01) becomes queued (00).
        const string result = "compact 04 01 00 0000000000000007";
        Assert.Contains(result, document);
        using TempDirectory temp = new();
        string changed = Path.Combine(temp.Path, "PROTOCOL.md");
        await File.WriteAllTextAsync(changed, document.Replace(result, "compact 04 00 00 0000000000000007", StringComparison.Ordinal));
        (int exit, string output) = await RunAsync(changed);
        Assert.NotEqual(0, exit);
        Assert.DoesNotContain("vectors reproduced independently", output);
    }

    private static async Task<(int Exit, string Output)> RunAsync(string document)
    {
        ProcessStartInfo start = new("python3") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Vectors.RepositoryRoot };
        start.ArgumentList.Add(Path.Combine(Vectors.RepositoryRoot, "tools", "interop", "check_vectors.py"));
        start.ArgumentList.Add(document);
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"(\d+) vectors reproduced independently")]
    private static partial Regex Total();
}

/// <summary>A fact that needs python3 with the cryptography package: skipped, with the reason, only where it is missing (CI installs it).</summary>
public sealed class PythonCryptographyFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(FindMissing);

    public PythonCryptographyFactAttribute()
    {
        if (s_missing.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? FindMissing()
    {
        try
        {
            ProcessStartInfo start = new("python3", ["-c", "import cryptography"]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using Process process = Process.Start(start)!;
            process.WaitForExit(30_000);
            return process.HasExited && process.ExitCode == 0 ? null : "python3 with the cryptography package (python3-cryptography) is not installed";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "python3 is not installed";
        }
    }
}
