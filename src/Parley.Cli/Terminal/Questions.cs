// Questions that ask again on a bad answer instead of giving up, as people expect from a prompt:
// a port that is not a number, an answer that is not yes or no. End of input (null) always ends
// the asking, so a script with too few lines stops rather than loops.
using Parley.Cli.CommandLine;

namespace Parley.Cli.Terminal;

/// <param name="ask">Shows a question and reads the answer (the bool: do not echo it); null at end of input.</param>
/// <param name="say">Prints one line.</param>
internal sealed class Questions(Func<string, bool, string?> ask, Action<string> say)
{
    public Questions(ChatConsole console)
        : this(console.Ask, console.WriteLine)
    {
    }

    /// <summary>A port, <paramref name="fallback"/> for an empty answer; null at end of input.</summary>
    public int? Port(string question, int? fallback, bool allowZero = false)
    {
        while (true)
        {
            string? answer = ask(question, false);
            if (answer is null)
            {
                return null;
            }
            if (string.IsNullOrWhiteSpace(answer) && fallback is int given)
            {
                return given;
            }
            if (PortOption.TryParse(answer, allowZero, out int port, out string error))
            {
                return port;
            }
            say(Capitalise(error) + ".");
        }
    }

    /// <summary>True for "yes", false for "no" (any case); anything else asks again; null at end of input.</summary>
    public bool? YesNo(string question)
    {
        string prompt = question;
        while (true)
        {
            string? answer = ask(prompt, false)?.Trim();
            if (answer is null)
            {
                return null;
            }
            if (answer.Equals("yes", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            if (answer.Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            prompt = "Please type 'yes' or 'no': ";
        }
    }

    /// <summary>A secret typed twice the same; asks for the pair again (at most three times) when they differ; null at end of input or after three mismatches.</summary>
    public string? NewPassword(string first, string confirm)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string? password = ask(first, true);
            if (password is null)
            {
                return null;
            }
            if (password.Length == 0)
            {
                say("The password may not be empty.");
                continue;
            }
            string? again = ask(confirm, true);
            if (again is null)
            {
                return null;
            }
            if (again == password)
            {
                return password;
            }
            say("The passwords do not match; try again.");
        }
        return null;
    }

    /// <summary>The user's answer to a plain question (null at end of input).</summary>
    public string? Text(string question) => ask(question, false);

    /// <summary>A secret answer (not echoed), or null at end of input.</summary>
    public string? Secret(string question) => ask(question, true);

    /// <summary>Prints a line (the prompts' own explanations).</summary>
    public void Say(string line) => say(line);

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
