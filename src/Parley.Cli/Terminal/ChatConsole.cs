// The chat's console. On a terminal it owns the input line: a LineEditor holds what is typed, a
// LineRenderer draws it, and a message that arrives while the user is typing is printed above the
// prompt with the half-typed line redrawn intact. Keys are read on one thread of its own for the
// whole chat, so no read is ever left pending to swallow a line after the chat ends, and Ctrl-C
// is read as a key (not a signal) and ends the chat at once. With stdin or stdout redirected
// (scripts, tests) it reads and writes plain lines.
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Parley.Messaging;

namespace Parley.Cli.Terminal;

public enum ChatInputKind
{
    Line,
    EndOfInput,
    Interrupt,
}

public readonly record struct ChatInput(ChatInputKind Kind, string? Line = null);

public sealed class ChatConsole : IDisposable
{
    private const string DefaultPrompt = "> ";
    private readonly object _lock = new();
    private readonly Channel<ChatInput> _input = Channel.CreateUnbounded<ChatInput>();
    private readonly CancellationTokenSource _interrupted = new();
    private readonly LineRenderer _renderer = new();
    private readonly bool _inputRedirected = Console.IsInputRedirected;
    private readonly bool _outputRedirected = Console.IsOutputRedirected;
    private LineEditor? _editor;
    private string _prompt = DefaultPrompt;
    private bool _promptShown;
    private bool _stopped;
    private PosixSignalRegistration? _resize;
    private bool _started;
    private bool _ctrlCAsKey;

    public ChatConsole()
    {
        Colour = LineStyle.Enabled(!_outputRedirected, Environment.GetEnvironmentVariable);
    }

    /// <summary>Both ends are a terminal: the line is edited and redrawn, and questions may be asked.</summary>
    public bool Interactive => !_inputRedirected && !_outputRedirected;

    /// <summary>Someone may be typing (stdin is a terminal): a banner and help are worth printing.</summary>
    public bool InputIsTerminal => !_inputRedirected;

    /// <summary>Every printed line becomes a JSON object (<c>--json</c>); colour is then off.</summary>
    public bool Json
    {
        get => _json;
        set
        {
            _json = value;
            Colour = Colour && !value;
        }
    }

    private bool _json;

    public bool Colour { get; private set; }

    /// <summary>The chat's input has started (<see cref="StartInput"/>): the questions are over.</summary>
    public bool InputStarted => _started;

    /// <summary>Cancelled when the user presses Ctrl-C during the chat.</summary>
    public CancellationToken Interrupted => _interrupted.Token;

    /// <summary>Prints a line without disturbing what the user is typing.</summary>
    public void WriteLine(string text)
    {
        lock (_lock)
        {
            if (Json)
            {
                Console.Out.WriteLine(JsonLines.Line(text));
                return;
            }
            if (!Interactive)
            {
                Console.Out.WriteLine(text);
                return;
            }
            StringBuilder output = new();
            if (_promptShown)
            {
                output.Append(_renderer.Erase());
            }
            foreach (string line in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
            {
                output.Append(Colour ? LineStyle.Apply(line) : line).Append("\r\n");
            }
            if (_promptShown)
            {
                output.Append(Draw());
            }
            Console.Out.Write(output.ToString());
            Console.Out.Flush();
        }
    }

    public void WriteError(string text) => WriteLine(text);

    /// <summary>An incoming message: its line, or with --json its fields (from the message as opened).</summary>
    public void WriteMessage(string line, ChatMessage? opened, bool endToEnd)
    {
        if (Json && opened is not null)
        {
            lock (_lock)
            {
                Console.Out.WriteLine(JsonLines.Message(opened, endToEnd));
            }
            return;
        }
        WriteLine(line);
    }

    /// <summary>A line that has its own JSON form (a receipt): the line, or with --json that object.</summary>
    public void WriteLineOrJson(string line, string json)
    {
        if (Json)
        {
            lock (_lock)
            {
                Console.Out.WriteLine(json);
            }
            return;
        }
        WriteLine(line);
    }

    /// <summary>The prompt shown while typing, e.g. "alice@host> ".</summary>
    public void SetPrompt(string prompt)
    {
        lock (_lock)
        {
            _prompt = prompt;
            if (_promptShown && Interactive)
            {
                Console.Out.Write(Draw());
            }
        }
    }

    /// <summary>Asks a question on its own line; null at end of input. Only before <see cref="StartInput"/>.</summary>
    public string? Ask(string question, bool secret = false)
    {
        Console.Write(question);
        if (!Interactive)
        {
            string? answer = Console.ReadLine();
            Console.WriteLine();
            return answer;
        }
        if (!secret)
        {
            return Console.ReadLine();
        }
        StringBuilder buffer = new();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.WriteLine();
                return buffer.ToString();
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (buffer.Length > 0)
                {
                    buffer.Length--;
                }
            }
            else if (key.Modifiers.HasFlag(ConsoleModifiers.Control) && key.Key == ConsoleKey.D && buffer.Length == 0)
            {
                Console.WriteLine();
                return null;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                buffer.Append(key.KeyChar);
            }
        }
    }

    /// <summary>
    /// Starts reading the chat's commands, on a thread of its own, until end of input or
    /// <see cref="StopInput"/>. On a terminal the line is edited with <paramref name="history"/>
    /// (Up/Down) and <paramref name="completer"/> (Tab), and Ctrl-C becomes a key.
    /// </summary>
    /// <param name="ctrlCAsKey">Read Ctrl-C as a key (<see cref="ChatInputKind.Interrupt"/>) rather than leave it a signal.</param>
    public void StartInput(InputHistory history, TabCompleter? completer, bool ctrlCAsKey = true)
    {
        if (_started)
        {
            throw new InvalidOperationException("input already started");
        }
        _started = true;
        // Whatever way the process ends, the prompt does not stay behind on the screen.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopInput();
        Thread reader;
        if (Interactive)
        {
            _editor = new LineEditor(history, completer);
            if (ctrlCAsKey)
            {
                // Ctrl-C as a key: the editor sees it at once, wherever the chat is (even mid-send),
                // instead of a signal whose handler waits for the command to notice.
                Console.TreatControlCAsInput = true;
                _ctrlCAsKey = true;
            }
            if (!OperatingSystem.IsWindows())
            {
                // The terminal reflowed the wrapped line to its new width: draw it again for that width.
                _resize = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context =>
                {
                    context.Cancel = true;
                    OnResize();
                });
            }
            lock (_lock)
            {
                _promptShown = true;
                Console.Out.Write(Draw());
            }
            reader = new Thread(ReadKeys) { IsBackground = true, Name = "chat keys" };
        }
        else
        {
            reader = new Thread(ReadLines) { IsBackground = true, Name = "chat lines" };
        }
        reader.Start();
    }

    /// <summary>
    /// For `parley peer`: the next line (edited, with an in-memory history), null at end of input;
    /// Ctrl-C stays a signal there, which ends the peer session its own way.
    /// </summary>
    public async Task<string?> ReadCommandAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            StartInput(new InputHistory(), completer: null, ctrlCAsKey: false);
        }
        ChatInput input = await ReadAsync(cancellationToken).ConfigureAwait(false);
        return input.Kind == ChatInputKind.Line ? input.Line : null;
    }

    /// <summary>The next command line, end of input, or Ctrl-C.</summary>
    public async ValueTask<ChatInput> ReadAsync(CancellationToken cancellationToken) =>
        await _input.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Waits until input is ready (for waiting on it together with the connection).</summary>
    public Task<bool> WaitToReadAsync(CancellationToken cancellationToken) => _input.Reader.WaitToReadAsync(cancellationToken).AsTask();

    public bool TryRead(out ChatInput input) => _input.Reader.TryRead(out input);

    /// <summary>Ends the chat's input: the prompt is taken off the screen (no stray "> " after exit) and Ctrl-C is a signal again.</summary>
    public void StopInput()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            if (Interactive && _promptShown)
            {
                bool typed = _editor is { Text.Length: > 0 };
                // A half-typed line stays visible (as a shell leaves it on Ctrl-C); an empty prompt goes.
                Console.Out.Write(typed ? _renderer.Finish(_prompt, _editor!.Text, Columns()) : _renderer.Erase());
                Console.Out.Flush();
            }
            _promptShown = false;
        }
        _resize?.Dispose();
        if (_ctrlCAsKey)
        {
            Console.TreatControlCAsInput = false;
        }
    }

    private void ReadKeys()
    {
        while (true)
        {
            ConsoleKeyInfo key;
            try
            {
                key = Console.ReadKey(intercept: true);
            }
            catch (InvalidOperationException)
            {
                _input.Writer.TryWrite(new ChatInput(ChatInputKind.EndOfInput));
                return;
            }
            lock (_lock)
            {
                if (_stopped)
                {
                    return;
                }
                EditResult result = _editor!.Handle(key);
                switch (result.Action)
                {
                    case EditAction.Redraw:
                        Console.Out.Write(Draw());
                        break;
                    case EditAction.Submit:
                        // The line stays on screen as typed, and a fresh prompt follows below it.
                        Console.Out.Write(_renderer.Finish(_prompt, result.Line!, Columns()) + Draw());
                        _input.Writer.TryWrite(new ChatInput(ChatInputKind.Line, result.Line));
                        break;
                    case EditAction.ShowCandidates:
                        Console.Out.Write(_renderer.Erase() + string.Join("  ", result.Candidates!) + "\r\n" + Draw());
                        break;
                    case EditAction.Bell:
                        Console.Out.Write("\a");
                        break;
                    case EditAction.EndOfInput:
                        Console.Out.Write(_renderer.Erase());
                        _promptShown = false;
                        _input.Writer.TryWrite(new ChatInput(ChatInputKind.EndOfInput));
                        return;
                    case EditAction.Interrupt:
                        _input.Writer.TryWrite(new ChatInput(ChatInputKind.Interrupt));
                        _interrupted.Cancel();
                        return;
                }
                Console.Out.Flush();
            }
        }
    }

    private void ReadLines()
    {
        while (true)
        {
            string? line = Console.In.ReadLine();
            if (line is null)
            {
                _input.Writer.TryWrite(new ChatInput(ChatInputKind.EndOfInput));
                return;
            }
            _input.Writer.TryWrite(new ChatInput(ChatInputKind.Line, line));
        }
    }

    private void OnResize()
    {
        lock (_lock)
        {
            if (!_promptShown || _editor is null || _stopped)
            {
                return;
            }
            _renderer.Resized(_prompt, _editor.Text, _editor.Cursor, Columns());
            Console.Out.Write(Draw());
            Console.Out.Flush();
        }
    }

    private string Draw()
    {
        string text = _editor?.Text ?? "";
        int cursor = _editor?.Cursor ?? 0;
        return _renderer.Draw(_prompt, Colour ? LineStyle.Prompt(_prompt) : _prompt, text, cursor, Columns());
    }

    private static int Columns()
    {
        try
        {
            int width = Console.WindowWidth;
            return width > 0 ? width : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }

    public void Dispose()
    {
        StopInput();
        _interrupted.Dispose();
    }
}
