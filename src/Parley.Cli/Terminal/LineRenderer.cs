// Draws the prompt and the line being edited, which may wrap over several terminal rows, and
// knows where it left the cursor so the next drawing (or a message printed above it) starts from
// the first row again. Pure: it returns the escape sequences and keeps only the cursor's row, so
// its arithmetic (wide characters, a wide one that does not fit at the end of a row, a line that
// exactly fills a row) is unit-tested without a terminal.
using System.Globalization;
using System.Text;

namespace Parley.Cli.Terminal;

public sealed class LineRenderer
{
    private const string ClearToEndOfScreen = "\u001b[J";

    // The row, counted from the prompt's first row, where the last drawing left the cursor.
    private int _cursorRow;
    private bool _drawn;

    /// <summary>Where writing <paramref name="text"/> from the start of a row leaves the cursor; Col = columns means "at the right margin, wrap pending".</summary>
    public static (int Row, int Col) Advance(string text, int columns)
    {
        int row = 0;
        int col = 0;
        TextElementEnumerator elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            int width = TextCells.GraphemeWidth(elements.GetTextElement());
            if (col + width > columns)
            {
                // A character that does not fit goes to the next row (a wide one leaves the last cell blank).
                row++;
                col = 0;
            }
            col += width;
        }
        return (row, col);
    }

    /// <summary>Where the cursor shows after writing <paramref name="text"/>: a pending wrap shows as the start of the next row.</summary>
    private static (int Row, int Col) CursorAfter(string text, int columns)
    {
        (int row, int col) = Advance(text, columns);
        return col >= columns ? (row + 1, 0) : (row, col);
    }

    /// <summary>Draws the prompt and line afresh, replacing the previous drawing; the cursor ends at <paramref name="cursor"/>.</summary>
    /// <param name="prompt">The prompt as it reads (for widths).</param>
    /// <param name="styledPrompt">The prompt as written (with colour codes, or the same).</param>
    public string Draw(string prompt, string styledPrompt, string text, int cursor, int columns)
    {
        columns = Math.Max(columns, 2);
        StringBuilder output = new(Erase());
        output.Append(styledPrompt).Append(text);
        (int endRow, int endCol) = Advance(prompt + text, columns);
        if (endCol >= columns)
        {
            // The terminal holds the cursor on the last cell until something more is written; move
            // it to the next row now so the arithmetic below (and the next erase) starts from a real row.
            output.Append("\r\n");
            endRow++;
        }
        (int targetRow, int targetCol) = CursorAfter(prompt + text[..cursor], columns);
        if (endRow > targetRow)
        {
            output.Append(CultureInfo.InvariantCulture, $"\u001b[{endRow - targetRow}A");
        }
        output.Append('\r');
        if (targetCol > 0)
        {
            output.Append(CultureInfo.InvariantCulture, $"\u001b[{targetCol}C");
        }
        _cursorRow = targetRow;
        _drawn = true;
        return output.ToString();
    }

    /// <summary>Removes the drawing (to print something in its place); the cursor ends at the start of its first row.</summary>
    public string Erase()
    {
        string up = _drawn && _cursorRow > 0 ? $"\u001b[{_cursorRow}A" : "";
        _cursorRow = 0;
        _drawn = false;
        return up + "\r" + ClearToEndOfScreen;
    }

    /// <summary>
    /// Leaves the drawing on screen and moves below it, as Enter does in a shell: the next drawing
    /// starts on a fresh row.
    /// </summary>
    public string Finish(string prompt, string text, int columns)
    {
        columns = Math.Max(columns, 2);
        (int endRow, int endCol) = Advance(prompt + text, columns);
        // A line that exactly filled its last row already moved to a fresh one (see Draw).
        bool onFreshRow = endCol >= columns;
        int down = (onFreshRow ? endRow + 1 : endRow) - _cursorRow;
        _cursorRow = 0;
        _drawn = false;
        return (down > 0 ? $"\u001b[{down}B" : "") + (onFreshRow ? "\r" : "\r\n");
    }

    /// <summary>
    /// The terminal changed width and reflowed the rows the line wrapped over: find the cursor's row
    /// again at the new width, so the next drawing erases from the right place.
    /// </summary>
    public void Resized(string prompt, string text, int cursor, int columns)
    {
        if (_drawn)
        {
            _cursorRow = CursorAfter(prompt + text[..cursor], Math.Max(columns, 2)).Row;
        }
    }
}
