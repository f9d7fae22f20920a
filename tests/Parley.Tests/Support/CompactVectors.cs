using System.Text.RegularExpressions;

namespace Parley.Tests.Support;

/// <summary>
/// PROTOCOL.md §11.9's vectors, read from the document itself: each a title, the JSON objects a
/// record is equivalent to, and the record's compact bytes as written (hex, spaces between fields,
/// '|' between messages). Parley's codec and the browser's read the same text.
/// </summary>
public static partial class CompactVectors
{
    public sealed record Vector(string Title, string[] Json, string CompactHex)
    {
        public byte[] Compact => Convert.FromHexString(CompactHex.Replace(" ", "", StringComparison.Ordinal).Replace("|", "", StringComparison.Ordinal));
    }

    public static IReadOnlyList<Vector> All { get; } = Read(File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md")));

    private static List<Vector> Read(string document)
    {
        const string begin = "<!-- BEGIN COMPACT VECTORS -->", end = "<!-- END COMPACT VECTORS -->";
        int start = document.IndexOf(begin, StringComparison.Ordinal), stop = document.IndexOf(end, StringComparison.Ordinal);
        if (start < 0 || stop < start)
        {
            throw new InvalidOperationException("PROTOCOL.md has no compact vectors section");
        }
        return [.. VectorBlock().Matches(document[start..stop]).Select(m =>
        {
            string[] lines = m.Groups[2].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string[] json = [.. lines.Where(l => l.StartsWith("json ", StringComparison.Ordinal)).Select(l => l["json".Length..].Trim())];
            string compact = lines.Single(l => l.StartsWith("compact ", StringComparison.Ordinal))["compact".Length..].Trim();
            return new Vector(m.Groups[1].Value, json, compact);
        })];
    }

    [GeneratedRegex(@"^##### (.+?)\n\n```\n(.*?)```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex VectorBlock();
}
