// The one sanitiser for strings that came from outside (a peer, a client, a server, a file) and
// are about to reach a terminal or a log. Escape sequences could forge log lines or repaint the
// screen; bidi overrides and zero-width characters could make one name look like another; a
// 60 KB "name" could flood the log. Everything printed or logged from outside goes through here.
using System.Globalization;
using System.Text;

namespace Parley.Protocol.Text;

public static class UntrustedText
{
    /// <summary>Default longest result in characters, before the truncation marker: enough for a name, a reason or an address.</summary>
    public const int DefaultMaxLength = 256;

    /// <summary>Stands in for a control character, so its presence stays visible.</summary>
    public const char Replacement = '?';

    /// <summary>
    /// Returns <paramref name="value"/> safe to show: C0/C1 controls (escape, CR, LF, tab, DEL…)
    /// become '?', lone surrogates become U+FFFD, and format characters (bidi embeddings,
    /// overrides and isolates, zero-width space/joiners, BOM, soft hyphen…) and the line and
    /// paragraph separators U+2028/U+2029 are removed. At most <paramref name="maxLength"/>
    /// characters are kept; a longer value ends in "…(N chars)" with its original length.
    /// </summary>
    public static string Sanitize(string? value, int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }
        if (IsClean(value, maxLength))
        {
            return value;
        }
        StringBuilder clean = new(Math.Min(value.Length, maxLength) + 16);
        for (int i = 0; i < value.Length && clean.Length < maxLength; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                if (!IsRemoved(CharUnicodeInfo.GetUnicodeCategory(value, i)))
                {
                    if (clean.Length + 2 > maxLength)
                    {
                        break;
                    }
                    clean.Append(c).Append(value[i + 1]);
                }
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
            {
                clean.Append('\uFFFD');
                continue;
            }
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category == UnicodeCategory.Control)
            {
                clean.Append(Replacement);
            }
            else if (!IsRemoved(category))
            {
                clean.Append(c);
            }
        }
        if (value.Length > maxLength)
        {
            clean.Append("…(").Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(" chars)");
        }
        return clean.ToString();
    }

    private static bool IsRemoved(UnicodeCategory category) =>
        category is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    // The common case (a plain name or sentence) costs one scan and no allocation.
    private static bool IsClean(string value, int maxLength)
    {
        if (value.Length > maxLength)
        {
            return false;
        }
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c >= 0x20 && c < 0x7F)
            {
                continue;
            }
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                if (IsRemoved(CharUnicodeInfo.GetUnicodeCategory(value, i)))
                {
                    return false;
                }
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
            {
                return false;
            }
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category == UnicodeCategory.Control || IsRemoved(category))
            {
                return false;
            }
        }
        return true;
    }
}
