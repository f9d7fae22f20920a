using System.Text.Json;
using System.Text.RegularExpressions;

namespace Parley.Tests.Support;

/// <summary>
/// Locates the repository and the external vectors vendored in it (tests/vectors, see its README),
/// so a fresh clone needs nothing beside it.
/// </summary>
public static partial class Vectors
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string VendoredDirectory { get; } = FindVendoredDirectory();

    private static string FindVendoredDirectory()
    {
        string directory = Path.Combine(RepositoryRoot, "tests", "vectors");
        if (!File.Exists(Path.Combine(directory, "README.md")))
        {
            throw new InvalidOperationException("The vendored test vectors are missing: expected " + directory);
        }
        return directory;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find Parley.sln above " + AppContext.BaseDirectory);
    }

    public static JsonDocument Wycheproof(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(VendoredDirectory, "wycheproof", file)));

    public static JsonDocument Rfc(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(VendoredDirectory, "rfc", file)));

    /// <summary>Every test of a Wycheproof file with its group, as (group, test) pairs.</summary>
    public static IEnumerable<(JsonElement Group, JsonElement Test)> WycheproofTests(string file)
    {
        using JsonDocument doc = Wycheproof(file);
        List<(JsonElement, JsonElement)> all = [];
        foreach (JsonElement group in doc.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (JsonElement test in group.GetProperty("tests").EnumerateArray())
            {
                all.Add((group.Clone(), test.Clone()));
            }
        }
        return all;
    }

    public static byte[] Hex(this JsonElement element, string property) => Convert.FromHexString(element.GetProperty(property).GetString()!);

    public static string Result(this JsonElement test) => test.GetProperty("result").GetString()!;

    public static bool HasFlag(this JsonElement test, string flag) =>
        test.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == flag);

    public static int Id(this JsonElement test) => test.GetProperty("tcId").GetInt32();

    /// <summary>
    /// The text of a fenced block named <paramref name="name"/> in tests/vectors/rfc/README.md.
    /// </summary>
    public static string RfcBlock(string name)
    {
        string text = File.ReadAllText(Path.Combine(VendoredDirectory, "rfc", "README.md"));
        Match match = Regex.Match(text, "```" + Regex.Escape(name) + "\\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, $"block {name} not found");
        return match.Groups[1].Value;
    }

    /// <summary>RFC 5869 style "NAME = 0x.. (n octets)" entries with continuation lines.</summary>
    public static Dictionary<string, byte[]> RfcHexFields(string block)
    {
        Dictionary<string, string> raw = [];
        string? current = null;
        foreach (string line in block.Split('\n'))
        {
            Match field = Regex.Match(line, @"^(\w+)\s*=\s*(.*)$");
            if (field.Success)
            {
                current = field.Groups[1].Value;
                raw[current] = field.Groups[2].Value;
            }
            else if (current is not null && line.StartsWith(' '))
            {
                raw[current] += line;
            }
        }
        return raw.ToDictionary(kv => kv.Key, kv => ParseHex(kv.Value));
    }

    /// <summary>RFC 7748 style "Label:" lines each followed by an indented hex line.</summary>
    public static List<byte[]> RfcHexLines(string block) =>
        block.Split('\n')
            .Select(l => l.Trim())
            .Where(l => HexLine().IsMatch(l))
            .Select(Convert.FromHexString)
            .ToList();

    private static byte[] ParseHex(string value)
    {
        string cleaned = Regex.Replace(value, @"\(\d+ octets\)", "").Replace("0x", "").Replace(" ", "").Trim();
        return cleaned.All(Uri.IsHexDigit) ? Convert.FromHexString(cleaned) : [];
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HexLine();
}
