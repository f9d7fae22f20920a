// How a line of text sits on a terminal: where its graphemes (text elements) begin, and how many
// columns each takes. The line editor moves and deletes by grapheme, so an emoji or a letter with
// a combining accent is never split and never sent broken; the renderer needs the column widths
// (East Asian wide characters and emoji take two) to put the cursor in the right place.
using System.Globalization;
using System.Text;

namespace Parley.Cli.Terminal;

public static class TextCells
{
    /// <summary>The start index of every grapheme in <paramref name="text"/>, then text.Length.</summary>
    public static List<int> Boundaries(string text)
    {
        List<int> boundaries = [0];
        int index = 0;
        while (index < text.Length)
        {
            index += StringInfo.GetNextTextElementLength(text, index);
            boundaries.Add(index);
        }
        return boundaries;
    }

    /// <summary>The grapheme boundary before <paramref name="index"/> (0 at the start).</summary>
    public static int Previous(string text, int index)
    {
        int previous = 0;
        foreach (int boundary in Boundaries(text))
        {
            if (boundary >= index)
            {
                break;
            }
            previous = boundary;
        }
        return previous;
    }

    /// <summary>The grapheme boundary after <paramref name="index"/> (text.Length at the end).</summary>
    public static int Next(string text, int index) =>
        index >= text.Length ? text.Length : index + StringInfo.GetNextTextElementLength(text, index);

    /// <summary>The first boundary at or after <paramref name="index"/>: where a cursor may stand.</summary>
    public static int Snap(string text, int index)
    {
        foreach (int boundary in Boundaries(text))
        {
            if (boundary >= index)
            {
                return boundary;
            }
        }
        return text.Length;
    }

    /// <summary>Columns one grapheme takes: 2 for wide and emoji-presentation ones, 0 for a lone mark, else 1.</summary>
    public static int GraphemeWidth(string grapheme)
    {
        if (grapheme.Length == 0)
        {
            return 0;
        }
        Rune first = Rune.GetRuneAt(grapheme, 0);
        int width = RuneWidth(first);
        // A variation selector 16 asks for the emoji (two-column) form of a symbol like ❤.
        if (width == 1 && grapheme.Contains('\uFE0F'))
        {
            width = 2;
        }
        return width;
    }

    public static int RuneWidth(Rune rune)
    {
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            || rune.Value == 0x200B)
        {
            return 0;
        }
        return IsWide(rune.Value) ? 2 : 1;
    }

    /// <summary>Columns the whole string takes when written on one unbounded line.</summary>
    public static int Width(string text)
    {
        int width = 0;
        TextElementEnumerator elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            width += GraphemeWidth(elements.GetTextElement());
        }
        return width;
    }

    // East Asian Wide and Fullwidth ranges (Unicode 15 EastAsianWidth.txt, W and F), merged where
    // neighbouring, plus the emoji blocks terminals draw two columns wide.
    private static readonly (int From, int To)[] s_wide =
    [
        (0x1100, 0x115F), (0x231A, 0x231B), (0x2329, 0x232A), (0x23E9, 0x23EC), (0x23F0, 0x23F0), (0x23F3, 0x23F3),
        (0x25FD, 0x25FE), (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
        (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE), (0x26D4, 0x26D4), (0x26EA, 0x26EA),
        (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA), (0x26FD, 0x26FD), (0x2705, 0x2705), (0x270A, 0x270B),
        (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797),
        (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
        (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA000, 0xA4CF), (0xA960, 0xA97F),
        (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE10, 0xFE19), (0xFE30, 0xFE6F), (0xFF00, 0xFF60), (0xFFE0, 0xFFE6),
        (0x16FE0, 0x16FE4), (0x17000, 0x18AFF), (0x1B000, 0x1B2FF), (0x1F004, 0x1F004), (0x1F0CF, 0x1F0CF),
        (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F200, 0x1F202), (0x1F210, 0x1F23B), (0x1F240, 0x1F248),
        (0x1F250, 0x1F251), (0x1F260, 0x1F265), (0x1F300, 0x1F320), (0x1F32D, 0x1F335), (0x1F337, 0x1F37C),
        (0x1F37E, 0x1F393), (0x1F3A0, 0x1F3CA), (0x1F3CF, 0x1F3D3), (0x1F3E0, 0x1F3F0), (0x1F3F4, 0x1F3F4),
        (0x1F3F8, 0x1F43E), (0x1F440, 0x1F440), (0x1F442, 0x1F4FC), (0x1F4FF, 0x1F53D), (0x1F54B, 0x1F54E),
        (0x1F550, 0x1F567), (0x1F57A, 0x1F57A), (0x1F595, 0x1F596), (0x1F5A4, 0x1F5A4), (0x1F5FB, 0x1F64F),
        (0x1F680, 0x1F6C5), (0x1F6CC, 0x1F6CC), (0x1F6D0, 0x1F6D2), (0x1F6D5, 0x1F6D7), (0x1F6DC, 0x1F6DF),
        (0x1F6EB, 0x1F6EC), (0x1F6F4, 0x1F6FC), (0x1F7E0, 0x1F7EB), (0x1F7F0, 0x1F7F0), (0x1F90C, 0x1F93A),
        (0x1F93C, 0x1F945), (0x1F947, 0x1F9FF), (0x1FA70, 0x1FAFF), (0x20000, 0x2FFFD), (0x30000, 0x3FFFD),
    ];

    private static bool IsWide(int value)
    {
        int low = 0;
        int high = s_wide.Length - 1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (value < s_wide[middle].From)
            {
                high = middle - 1;
            }
            else if (value > s_wide[middle].To)
            {
                low = middle + 1;
            }
            else
            {
                return true;
            }
        }
        return false;
    }
}
