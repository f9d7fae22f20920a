// The chat's line editor, sans-IO: key events in, a line buffer and a cursor out. It never touches
// the console (ChatConsole reads the keys and draws what this holds), so every key is unit-tested
// without a terminal. The cursor always stands on a grapheme boundary, so moving and deleting take
// a whole emoji or accented letter and a submitted line is never broken in the middle of one.
using System.Text;

namespace Parley.Cli.Terminal;

public enum EditAction
{
    /// <summary>Nothing changed (a key with no meaning here).</summary>
    None,

    /// <summary>The line or the cursor changed: draw it again.</summary>
    Redraw,

    /// <summary>Enter: <see cref="EditResult.Line"/> is the finished line; the buffer is empty again.</summary>
    Submit,

    /// <summary>Ctrl-D on an empty line.</summary>
    EndOfInput,

    /// <summary>Ctrl-C: leave at once.</summary>
    Interrupt,

    /// <summary>Tab found several completions: show <see cref="EditResult.Candidates"/>, then the line again.</summary>
    ShowCandidates,

    /// <summary>A key that could do nothing here (Tab with no match, Up at the oldest entry).</summary>
    Bell,
}

public readonly record struct EditResult(EditAction Action, string? Line = null, IReadOnlyList<string>? Candidates = null);

public sealed class LineEditor(InputHistory history, TabCompleter? completer = null)
{
    private readonly StringBuilder _text = new();
    private char? _highSurrogate;

    // Up/Down: the entry being shown (history.Entries.Count = the line being written), and that line.
    private int _historyIndex = -1;
    private string _draft = "";

    public string Text => _text.ToString();

    /// <summary>Index into <see cref="Text"/> (UTF-16), always on a grapheme boundary.</summary>
    public int Cursor { get; private set; }

    public EditResult Handle(ConsoleKeyInfo key)
    {
        bool control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
        // Ctrl-letter arrives as the letter with the Control modifier, or only as its control code.
        if (control || key.KeyChar is > '\0' and < ' ' and not ('\r' or '\n' or '\t' or '\b' or '\u001b'))
        {
            EditResult? handled = HandleControl(key);
            if (handled is not null)
            {
                return handled.Value;
            }
        }
        switch (key.Key)
        {
            case ConsoleKey.Enter:
                string line = Text;
                _text.Clear();
                Cursor = 0;
                _historyIndex = -1;
                _draft = "";
                history.Add(line);
                return new EditResult(EditAction.Submit, line);
            case ConsoleKey.Backspace:
                return DeleteRange(TextCells.Previous(Text, Cursor), Cursor);
            case ConsoleKey.Delete:
                return DeleteRange(Cursor, TextCells.Next(Text, Cursor));
            case ConsoleKey.LeftArrow:
                return MoveTo(TextCells.Previous(Text, Cursor));
            case ConsoleKey.RightArrow:
                return MoveTo(TextCells.Next(Text, Cursor));
            case ConsoleKey.Home:
                return MoveTo(0);
            case ConsoleKey.End:
                return MoveTo(_text.Length);
            case ConsoleKey.UpArrow:
                return Recall(-1);
            case ConsoleKey.DownArrow:
                return Recall(+1);
            case ConsoleKey.Tab:
                return Complete();
        }
        // A key the terminal sent as DEL (0x7f) or BS (0x08) without naming it Backspace.
        if (key.KeyChar is '\u007f' or '\b')
        {
            return DeleteRange(TextCells.Previous(Text, Cursor), Cursor);
        }
        return Type(key.KeyChar);
    }

    private EditResult? HandleControl(ConsoleKeyInfo key)
    {
        char c = key.KeyChar;
        ConsoleKey k = key.Key;
        bool Is(ConsoleKey letter, char code) => k == letter && key.Modifiers.HasFlag(ConsoleModifiers.Control) || c == code;
        if (Is(ConsoleKey.C, '\u0003'))
        {
            return new EditResult(EditAction.Interrupt);
        }
        if (Is(ConsoleKey.D, '\u0004'))
        {
            return _text.Length == 0 ? new EditResult(EditAction.EndOfInput) : DeleteRange(Cursor, TextCells.Next(Text, Cursor));
        }
        if (Is(ConsoleKey.A, '\u0001'))
        {
            return MoveTo(0);
        }
        if (Is(ConsoleKey.E, '\u0005'))
        {
            return MoveTo(_text.Length);
        }
        if (Is(ConsoleKey.B, '\u0002'))
        {
            return MoveTo(TextCells.Previous(Text, Cursor));
        }
        if (Is(ConsoleKey.F, '\u0006'))
        {
            return MoveTo(TextCells.Next(Text, Cursor));
        }
        if (Is(ConsoleKey.U, '\u0015'))
        {
            return DeleteRange(0, Cursor);
        }
        if (Is(ConsoleKey.K, '\u000b'))
        {
            return DeleteRange(Cursor, _text.Length);
        }
        if (Is(ConsoleKey.W, '\u0017'))
        {
            return DeleteRange(WordStartBefore(Cursor), Cursor);
        }
        if (Is(ConsoleKey.L, '\u000c'))
        {
            return new EditResult(EditAction.Redraw);
        }
        if (Is(ConsoleKey.P, '\u0010'))
        {
            return Recall(-1);
        }
        if (Is(ConsoleKey.N, '\u000e'))
        {
            return Recall(+1);
        }
        return null;
    }

    private EditResult Type(char c)
    {
        if (char.IsHighSurrogate(c))
        {
            // The console hands an astral character (most emoji) over as two keys.
            _highSurrogate = c;
            return new EditResult(EditAction.None);
        }
        string inserted;
        if (char.IsLowSurrogate(c))
        {
            if (_highSurrogate is not char high)
            {
                return new EditResult(EditAction.None);
            }
            inserted = new string([high, c]);
        }
        else if (c == '\0' || char.IsControl(c))
        {
            _highSurrogate = null;
            return new EditResult(EditAction.None);
        }
        else
        {
            inserted = c.ToString();
        }
        _highSurrogate = null;
        _text.Insert(Cursor, inserted);
        // A combining mark joins the grapheme before it: the cursor goes after the whole of it.
        Cursor = TextCells.Snap(Text, Cursor + inserted.Length);
        return new EditResult(EditAction.Redraw);
    }

    /// <summary>Inserts text (a paste, or a test) as if typed.</summary>
    public void Insert(string text)
    {
        foreach (char c in text)
        {
            Type(c);
        }
    }

    private EditResult MoveTo(int position)
    {
        if (position == Cursor)
        {
            return new EditResult(EditAction.None);
        }
        Cursor = position;
        return new EditResult(EditAction.Redraw);
    }

    private EditResult DeleteRange(int from, int to)
    {
        if (to <= from)
        {
            return new EditResult(EditAction.None);
        }
        _text.Remove(from, to - from);
        Cursor = from;
        return new EditResult(EditAction.Redraw);
    }

    /// <summary>Ctrl-W as in a shell: the spaces before the cursor, then the word before them.</summary>
    private int WordStartBefore(int position)
    {
        string text = Text;
        int start = position;
        while (start > 0 && text[start - 1] == ' ')
        {
            start--;
        }
        while (start > 0 && text[start - 1] != ' ')
        {
            start--;
        }
        return start;
    }

    private EditResult Recall(int step)
    {
        IReadOnlyList<string> entries = history.Entries;
        int current = _historyIndex < 0 ? entries.Count : _historyIndex;
        int next = current + step;
        if (next < 0 || next > entries.Count)
        {
            return new EditResult(EditAction.Bell);
        }
        if (_historyIndex < 0)
        {
            _draft = Text;
        }
        _historyIndex = next;
        _text.Clear().Append(next == entries.Count ? _draft : entries[next]);
        Cursor = _text.Length;
        return new EditResult(EditAction.Redraw);
    }

    private EditResult Complete()
    {
        if (completer is null)
        {
            return new EditResult(EditAction.Bell);
        }
        TabCompleter.Completion completion = completer.Complete(Text, Cursor);
        if (completion.Insert.Length > 0)
        {
            _text.Insert(Cursor, completion.Insert);
            Cursor += completion.Insert.Length;
            return new EditResult(EditAction.Redraw);
        }
        return completion.Candidates.Count > 0
            ? new EditResult(EditAction.ShowCandidates, Candidates: completion.Candidates)
            : new EditResult(EditAction.Bell);
    }
}
