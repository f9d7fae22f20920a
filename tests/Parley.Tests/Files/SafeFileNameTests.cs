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
}
