using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Protocol.Text;

namespace Parley.Messaging;

/// <summary>
/// Username rules (PROTOCOL.md §11.4): surrounding ASCII white space removed, ASCII letters
/// lower-cased, then 1–32 characters of a–z, 0–9, '.', '_' or '-', starting with a letter or digit.
/// Any character outside ASCII is refused, never mapped: no Unicode normalisation is applied
/// (the build runs with InvariantGlobalization, where NFKC is not available), so full-width
/// letters and look-alikes such as "аlice" with a Cyrillic а can neither impersonate anyone nor
/// become a second spelling of an existing name.
/// </summary>
public static partial class Usernames
{
    public const int MaxLength = 32;

    public const string Rules = "usernames are 1-32 characters: letters a-z, digits 0-9, '.', '_' or '-', starting with a letter or digit";

    /// <summary>The white space trimmed from both ends: ASCII only, like everything else in a name.</summary>
    private static readonly char[] AsciiWhiteSpace = [' ', '\t', '\r', '\n', '\v', '\f'];

    /// <summary>The canonical form of <paramref name="input"/>, or false with a specific reason.</summary>
    public static bool TryNormalize(string? input, out string username, out string error)
    {
        username = "";
        string candidate = (input ?? "").Trim(AsciiWhiteSpace);
        if (candidate.Length == 0)
        {
            error = "the username is empty; " + Rules;
            return false;
        }
        if (FirstNonAscii(candidate) is Rune foreign)
        {
            error = $"the username contains {Describe(foreign)}, which is not ASCII; "
                + "letters from other scripts and full-width forms are refused, so look-alike names cannot impersonate anyone; " + Rules;
            return false;
        }
        candidate = LowerAscii(candidate);
        if (candidate.Length > MaxLength)
        {
            error = $"the username is {candidate.Length} characters long; " + Rules;
            return false;
        }
        if (!Pattern().IsMatch(candidate))
        {
            error = $"'{UntrustedText.Sanitize(candidate)}' is not a valid username; " + Rules;
            return false;
        }
        username = candidate;
        error = "";
        return true;
    }

    /// <summary>Whether <paramref name="name"/> is a name exactly as the server writes it (for names that come from the server).</summary>
    public static bool IsCanonical(string? name) => TryNormalize(name, out string canonical, out _) && canonical == name;

    public static string Normalize(string input) =>
        TryNormalize(input, out string username, out string error) ? username : throw new ArgumentException(error, nameof(input));

    private static Rune? FirstNonAscii(string text)
    {
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (!rune.IsAscii)
            {
                return rune;
            }
        }
        return null;
    }

    /// <summary>"U+0430" plus the character itself only when it is printable, via the one sanitiser.</summary>
    private static string Describe(Rune rune) =>
        "U+" + rune.Value.ToString("X4", CultureInfo.InvariantCulture)
        + (Rune.IsLetterOrDigit(rune) ? $" ('{UntrustedText.Sanitize(rune.ToString())}')" : "");

    private static string LowerAscii(string text) =>
        string.Create(text.Length, text, static (destination, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                destination[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
            }
        });

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,31}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
