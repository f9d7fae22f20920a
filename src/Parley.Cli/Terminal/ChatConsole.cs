// The chat's console. On a terminal it owns the input line, so a message that arrives while the
// user is typing is printed above the prompt and the half-typed line is redrawn intact. With
// stdin redirected (scripts, tests) it reads and writes plain lines.
using System.Text;

namespace Parley.Cli.Terminal;

public sealed class ChatConsole
{
    private const string Prompt = "> ";
    private readonly object _lock = new();
    private readonly StringBuilder _line = new();
    private bool _promptShown;
    private Task<string?>? _pendingRead;

    public bool Interactive { get; } = !Console.IsInputRedirected && !Console.IsOutputRedirected;

    /// <summary>Prints a line without disturbing what the user is typing.</summary>
    public void WriteLine(string text)
    {
        lock (_lock)
        {
            if (Interactive && _promptShown)
            {
                Console.Write("\r\u001b[2K");
                Console.WriteLine(text);
                Console.Write(Prompt + _line);
            }
            else
            {
                Console.WriteLine(text);
            }
        }
    }

    public void WriteError(string text) => WriteLine(text);

    /// <summary>Asks a question on its own line; null at end of input.</summary>
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
    /// Reads one command line; null at end of input. Cancellation really returns (the console's
    /// own reads ignore it), so a lost connection ends the chat even while stdin is quiet; the
    /// pending read is kept for the next call rather than started twice.
    /// </summary>
    public async Task<string?> ReadCommandAsync(CancellationToken cancellationToken)
    {
        if (_pendingRead is null)
        {
            if (Interactive)
            {
                lock (_lock)
                {
                    _line.Clear();
                    Console.Write(Prompt);
                    _promptShown = true;
                }
                _pendingRead = Task.Run(ReadEditedLine, CancellationToken.None);
            }
            else
            {
                _pendingRead = Task.Run(Console.In.ReadLine, CancellationToken.None);
            }
        }
        string? line = await _pendingRead.WaitAsync(cancellationToken).ConfigureAwait(false);
        _pendingRead = null;
        return line;
    }

    private string? ReadEditedLine()
    {
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            lock (_lock)
            {
                switch (key.Key)
                {
                    case ConsoleKey.Enter:
                        string line = _line.ToString();
                        _line.Clear();
                        _promptShown = false;
                        Console.WriteLine();
                        return line;
                    case ConsoleKey.Backspace:
                        if (_line.Length > 0)
                        {
                            _line.Length--;
                            Console.Write("\b \b");
                        }
                        break;
                    default:
                        if (key.Modifiers.HasFlag(ConsoleModifiers.Control) && key.Key == ConsoleKey.D && _line.Length == 0)
                        {
                            _promptShown = false;
                            Console.WriteLine();
                            return null;
                        }
                        if (!char.IsControl(key.KeyChar))
                        {
                            _line.Append(key.KeyChar);
                            Console.Write(key.KeyChar);
                        }
                        break;
                }
            }
        }
    }
}
