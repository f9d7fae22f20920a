using Parley.Cli.Terminal;

namespace Parley.Tests.Cli.Terminal;

/// <summary>The sans-IO line editor, key by key (issue 14): movement, deletion by grapheme, kill keys, history, completion.</summary>
public class LineEditorTests
{
    private static ConsoleKeyInfo Char(char c) => new(c, ConsoleKey.NoName, false, false, false);

    private static ConsoleKeyInfo Key(ConsoleKey key, char c = '\0') => new(c, key, false, false, false);

    private static ConsoleKeyInfo Ctrl(ConsoleKey letter) => new((char)(letter - ConsoleKey.A + 1), letter, false, false, true);

    private static LineEditor Typed(string text, InputHistory? history = null, TabCompleter? completer = null)
    {
        LineEditor editor = new(history ?? new InputHistory(), completer);
        foreach (char c in text)
        {
            editor.Handle(Char(c));
        }
        return editor;
    }

    [Fact]
    public void Typed_characters_are_inserted_at_the_cursor_and_arrows_home_and_end_move_it()
    {
        LineEditor editor = Typed("helo");
        editor.Handle(Key(ConsoleKey.LeftArrow));
        editor.Handle(Char('l'));
        Assert.Equal("hello", editor.Text);
        Assert.Equal(4, editor.Cursor);
        editor.Handle(Key(ConsoleKey.Home));
        editor.Handle(Char('>'));
        editor.Handle(Key(ConsoleKey.End));
        editor.Handle(Char('!'));
        Assert.Equal(">hello!", editor.Text);
        editor.Handle(Ctrl(ConsoleKey.A));
        Assert.Equal(0, editor.Cursor);
        editor.Handle(Ctrl(ConsoleKey.E));
        Assert.Equal(7, editor.Cursor);
        editor.Handle(Key(ConsoleKey.RightArrow));
        Assert.Equal(7, editor.Cursor);
    }

    [Fact]
    public void Backspace_and_delete_take_a_whole_emoji_or_accented_letter_never_half()
    {
        // U+1F600 is two UTF-16 units; e + U+0301 is one grapheme of two code points; the family is a ZWJ sequence.
        const string Family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";
        LineEditor editor = Typed("a\U0001F600e\u0301" + Family);
        Assert.Equal("a\U0001F600e\u0301" + Family, editor.Text);
        editor.Handle(Key(ConsoleKey.Backspace));
        Assert.Equal("a\U0001F600e\u0301", editor.Text);
        editor.Handle(Key(ConsoleKey.Backspace));
        Assert.Equal("a\U0001F600", editor.Text);
        editor.Handle(Key(ConsoleKey.Home));
        editor.Handle(Key(ConsoleKey.RightArrow));
        Assert.Equal(1, editor.Cursor);
        editor.Handle(Key(ConsoleKey.Delete));
        Assert.Equal("a", editor.Text);
        // What is submitted is always well-formed UTF-16.
        EditResult submitted = editor.Handle(Key(ConsoleKey.Enter, '\r'));
        Assert.Equal("a", submitted.Line);
    }

    [Fact]
    public void A_combining_mark_typed_after_a_letter_joins_it_and_the_cursor_stays_after_the_pair()
    {
        LineEditor editor = Typed("ce");
        editor.Handle(Char('\u0301'));
        Assert.Equal(3, editor.Cursor);
        editor.Handle(Key(ConsoleKey.LeftArrow));
        Assert.Equal(1, editor.Cursor);
    }

    [Fact]
    public void Ctrl_u_w_k_kill_before_the_cursor_the_word_before_it_and_after_it()
    {
        LineEditor editor = Typed("send bob hello there");
        editor.Handle(Ctrl(ConsoleKey.W));
        Assert.Equal("send bob hello ", editor.Text);
        editor.Handle(Ctrl(ConsoleKey.W));
        Assert.Equal("send bob ", editor.Text);
        editor.Handle(Char('x'));
        editor.Handle(Key(ConsoleKey.Home));
        editor.Handle(Key(ConsoleKey.RightArrow));
        editor.Handle(Ctrl(ConsoleKey.K));
        Assert.Equal("s", editor.Text);
        editor.Insert("end");
        editor.Handle(Key(ConsoleKey.LeftArrow));
        editor.Handle(Ctrl(ConsoleKey.U));
        Assert.Equal("d", editor.Text);
        Assert.Equal(0, editor.Cursor);
    }

    [Fact]
    public void Up_and_down_walk_the_history_and_give_back_the_line_being_written()
    {
        InputHistory history = new();
        LineEditor editor = new(history);
        editor.Insert("list");
        editor.Handle(Key(ConsoleKey.Enter, '\r'));
        editor.Insert("send bob hi");
        editor.Handle(Key(ConsoleKey.Enter, '\r'));
        editor.Insert("draft");
        editor.Handle(Key(ConsoleKey.UpArrow));
        Assert.Equal("send bob hi", editor.Text);
        editor.Handle(Key(ConsoleKey.UpArrow));
        Assert.Equal("list", editor.Text);
        Assert.Equal(EditAction.Bell, editor.Handle(Key(ConsoleKey.UpArrow)).Action);
        editor.Handle(Key(ConsoleKey.DownArrow));
        editor.Handle(Key(ConsoleKey.DownArrow));
        Assert.Equal("draft", editor.Text);
        Assert.Equal(["list", "send bob hi"], history.Entries);
    }

    [Fact]
    public void Ctrl_c_interrupts_and_ctrl_d_ends_input_only_on_an_empty_line()
    {
        LineEditor editor = Typed("ab");
        Assert.Equal(EditAction.Interrupt, editor.Handle(Ctrl(ConsoleKey.C)).Action);
        editor.Handle(Key(ConsoleKey.Home));
        Assert.Equal(EditAction.Redraw, editor.Handle(Ctrl(ConsoleKey.D)).Action);
        Assert.Equal("b", editor.Text);
        editor.Handle(Ctrl(ConsoleKey.K));
        Assert.Equal(EditAction.EndOfInput, editor.Handle(Ctrl(ConsoleKey.D)).Action);
    }

    [Fact]
    public void Control_characters_and_lone_surrogates_never_enter_the_line()
    {
        LineEditor editor = Typed("a\u001b\u0007b");
        editor.Handle(Char('\uD83D'));
        editor.Handle(Char('c'));
        editor.Handle(Char('\uDE00'));
        Assert.Equal("abc", editor.Text);
    }

    [Fact]
    public void Tab_completes_commands_and_the_names_after_send()
    {
        TabCompleter completer = new(["send", "verify", "list", "quit"], () => ["bob", "bobby", "carol"]);
        LineEditor editor = Typed("se", completer: completer);
        editor.Handle(Key(ConsoleKey.Tab, '\t'));
        Assert.Equal("send ", editor.Text);
        editor.Insert("c");
        editor.Handle(Key(ConsoleKey.Tab, '\t'));
        Assert.Equal("send carol ", editor.Text);

        LineEditor ambiguous = Typed("send b", completer: completer);
        ambiguous.Handle(Key(ConsoleKey.Tab, '\t'));
        Assert.Equal("send bob", ambiguous.Text);
        EditResult choices = ambiguous.Handle(Key(ConsoleKey.Tab, '\t'));
        Assert.Equal(EditAction.ShowCandidates, choices.Action);
        Assert.Equal(["bob", "bobby"], choices.Candidates);

        LineEditor nothing = Typed("list x", completer: completer);
        Assert.Equal(EditAction.Bell, nothing.Handle(Key(ConsoleKey.Tab, '\t')).Action);
    }
}
