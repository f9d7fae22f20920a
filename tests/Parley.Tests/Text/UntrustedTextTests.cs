using Parley.Protocol.Text;

namespace Parley.Tests.Text;

public sealed class UntrustedTextTests
{
    [Fact]
    public void Plain_text_passes_unchanged_and_unallocated()
    {
        const string plain = "alice said: héllo 👋 — ok";
        Assert.Same(plain, UntrustedText.Sanitize(plain));
    }

    [Theory]
    [InlineData("\u001b[2J\u001b[Hroot logged in", "?[2J?[Hroot logged in")]
    [InlineData("bob\r\ninfo: Parley.Server[0] admin logged in", "bob??info: Parley.Server[0] admin logged in")]
    [InlineData("tab\there\u007f\u0085", "tab?here??")]
    public void Control_characters_become_visible_replacements(string input, string expected) =>
        Assert.Equal(expected, UntrustedText.Sanitize(input));

    [Theory]
    [InlineData("evil\u202Egnp.exe", "evilgnp.exe")]            // right-to-left override
    [InlineData("al\u200Bice", "alice")]                        // zero-width space
    [InlineData("a\u200D\u200Cb\u2066c\u2069", "abc")]          // joiners and an isolate
    [InlineData("\uFEFFname\u00AD", "name")]                    // BOM and soft hyphen
    [InlineData("line\u2028two\u2029three", "linetwothree")]    // line and paragraph separators
    [InlineData("flag\U000E0041\U000E007F", "flag")]           // tag characters (supplementary, format)
    public void Format_and_separator_characters_are_removed(string input, string expected) =>
        Assert.Equal(expected, UntrustedText.Sanitize(input));

    [Fact]
    public void Lone_surrogates_become_the_replacement_character()
    {
        Assert.Equal("a\uFFFDb\uFFFD", UntrustedText.Sanitize("a\uD800b\uDC00"));
    }

    [Fact]
    public void Long_values_are_truncated_with_their_original_length()
    {
        string flood = new('x', 60_000);
        string clean = UntrustedText.Sanitize(flood);
        Assert.Equal(new string('x', UntrustedText.DefaultMaxLength) + "…(60000 chars)", clean);
    }

    [Fact]
    public void Truncation_never_splits_a_surrogate_pair()
    {
        string clean = UntrustedText.Sanitize("ab😀", maxLength: 3);
        Assert.Equal("ab…(4 chars)", clean);
    }

    [Fact]
    public void Null_and_empty_become_empty()
    {
        Assert.Equal("", UntrustedText.Sanitize(null));
        Assert.Equal("", UntrustedText.Sanitize(""));
    }
}
