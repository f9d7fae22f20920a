using System.Text;
using System.Text.RegularExpressions;
using Parley.Protocol.Text;

namespace Parley.Messaging;

/// <summary>
/// Username rules: NFKC-normalised and lower-cased, then 1–32 characters of a–z, 0–9, '.', '_'
/// or '-', starting with a letter or digit. ASCII only on purpose: no homoglyph look-alikes
/// ("аlice" with a Cyrillic а) can impersonate anyone.
/// </summary>
public static partial class Usernames
{
    public const int MaxLength = 32;

    public const string Rules = "usernames are 1-32 characters: letters a-z, digits 0-9, '.', '_' or '-', starting with a letter or digit";

    /// <summary>The canonical form of <paramref name="input"/>, or false with a specific reason.</summary>
    public static bool TryNormalize(string? input, out string username, out string error)
    {
        username = "";
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "the username is empty; " + Rules;
            return false;
        }
        string candidate = input.Trim().Normalize(NormalizationForm.FormKC).ToLowerInvariant();
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

    public static string Normalize(string input) =>
        TryNormalize(input, out string username, out string error) ? username : throw new ArgumentException(error, nameof(input));


    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,31}$")]
    private static partial Regex Pattern();
}
