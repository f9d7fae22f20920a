using Parley.Client.Files;
using Parley.Tests.Support;

namespace Parley.Tests.Files;

/// <summary>The sender's file name never chooses where a file lands, nor what the terminal shows.</summary>
public class SafeFileNameTests
{
    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("../../.ssh/authorized_keys", "authorized_keys")]
    [InlineData("..\\..\\Windows\\win.ini", "win.ini")]
    [InlineData("..", "received-file")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("a\u001b[31mred\u0007.txt", "a_[31mred_.txt")]
    [InlineData("evil\u202etxt.exe", "evil_txt.exe")]
    [InlineData("con:stream?.txt", "con_stream_.txt")]
    [InlineData("   ", "received-file")]
    [InlineData("naïve 日本.txt", "naïve 日本.txt")]
    [InlineData("CON", "_CON")]
    [InlineData("nul.txt", "_nul.txt")]
    [InlineData("com1.tar.gz", "_com1.tar.gz")]
    [InlineData("console.txt", "console.txt")]
    public void A_name_is_cut_to_its_last_element_and_cleaned(string offered, string expected) =>
        Assert.Equal(expected, SafeFileName.From(offered));

    [Fact]
    public void A_long_name_keeps_its_extension_within_the_limit()
    {
        string name = SafeFileName.From(new string('x', 300) + ".pdf");
        Assert.Equal(SafeFileName.MaxLength, name.Length);
        Assert.EndsWith(".pdf", name, StringComparison.Ordinal);
    }

    [Fact]
    public void A_free_path_never_names_an_existing_file_or_a_partial_download()
    {
        using TempDirectory folder = new();
        File.WriteAllText(folder.File("a.txt"), "mine");
        File.WriteAllText(folder.File("a (1).txt.part"), "half");
        Assert.Equal(folder.File("a (2).txt"), SafeFileName.FreePath(folder.Path, "a.txt"));
        Assert.Equal(folder.File("b.txt"), SafeFileName.FreePath(folder.Path, "b.txt"));
    }
    /// <summary>
    /// File systems count a name in bytes: 84 CJK characters (252 bytes, within 120 characters) with
    /// ".part" added passed Linux's 255 and could never be saved (found by review). Cut by bytes, a
    /// name keeps its extension, never splits a character, and its partial file can be made.
    /// </summary>
    [Theory]
    [InlineData("\u4e2d", 84, ".pdf")]
    [InlineData("\U0001F600", 70, ".txt")]
    [InlineData("\u00e9", 150, "")]
    public void A_name_long_in_bytes_is_cut_on_a_character_and_its_partial_file_can_be_made(string character, int count, string extension)
    {
        string name = SafeFileName.From(string.Concat(Enumerable.Repeat(character, count)) + extension);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(name), 1, SafeFileName.MaxBytes);
        Assert.EndsWith(extension, name, StringComparison.Ordinal);
        Assert.DoesNotContain(name.EnumerateRunes(), r => r == System.Text.Rune.ReplacementChar);
        Assert.StartsWith(name[..^extension.Length], string.Concat(Enumerable.Repeat(character, count)), StringComparison.Ordinal);
        using TempDirectory folder = new();
        string path = SafeFileName.FreePath(folder.Path, name);
        File.WriteAllText(Path.Combine(folder.Path, Path.GetFileNameWithoutExtension(name) + " (99)" + extension + ".part"), "half");
        File.WriteAllText(path + ".part", "half");
        Assert.True(File.Exists(path + ".part"));
    }
}
