using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Parley.Tests.Support;

/// <summary>The vectors live in the repository, unchanged from their sources, with their licence.</summary>
public partial class VendoredVectorsTests
{
    [Fact]
    public void The_vectors_folder_is_inside_the_repository()
    {
        string root = Path.GetFullPath(Vectors.RepositoryRoot) + Path.DirectorySeparatorChar;
        Assert.StartsWith(root, Path.GetFullPath(Vectors.VendoredDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Vectors.VendoredDirectory, "wycheproof", "LICENSE")), "the Wycheproof licence must travel with its files");
    }

    [Fact]
    public void Every_vendored_file_matches_the_git_blob_id_in_the_README()
    {
        string readme = File.ReadAllText(Path.Combine(Vectors.VendoredDirectory, "README.md"));
        string section = "";
        List<string> checkedFiles = [];
        foreach (string line in readme.Split('\n'))
        {
            Match heading = SectionHeading().Match(line);
            if (heading.Success)
            {
                section = heading.Groups[1].Value;
                continue;
            }
            Match row = BlobRow().Match(line);
            if (!row.Success)
            {
                continue;
            }
            string relative = Path.Combine(section, row.Groups[1].Value);
            byte[] content = File.ReadAllBytes(Path.Combine(Vectors.VendoredDirectory, relative));
            Assert.Equal(row.Groups[2].Value, GitBlobId(content));
            checkedFiles.Add(relative);
        }

        string[] vendored = Directory.EnumerateFiles(Vectors.VendoredDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Vectors.VendoredDirectory, f))
            .Where(f => f.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) && Path.GetFileName(f) != "LICENSE")
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(vendored, checkedFiles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Nothing_in_tests_or_ci_reads_vectors_from_outside_the_repository()
    {
        string outside = ".." + "/shared";
        IEnumerable<string> files = Directory.EnumerateFiles(Path.Combine(Vectors.RepositoryRoot, "tests"), "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(Vectors.RepositoryRoot, ".ci"), "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}vectors{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        string[] offenders = files.Where(f => File.ReadAllText(f).Contains(outside, StringComparison.Ordinal)).ToArray();
        Assert.Empty(offenders);
    }

    private static string GitBlobId(byte[] content)
    {
        byte[] header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
    }

    [GeneratedRegex(@"^## `([a-z]+)/`")]
    private static partial Regex SectionHeading();

    [GeneratedRegex(@"^\| `([^`/]+)` \|.*\| `([0-9a-f]{40})` \|$")]
    private static partial Regex BlobRow();
}
