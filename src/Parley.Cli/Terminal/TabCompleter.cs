// Tab completion for the chat's input line: the first word completes to a command, the word after
// a command that names a user (send, verify, trust) to a user name. Pure: given the line and the
// cursor it says what to insert, or which candidates to show when the choice is not unique. Names
// come from the server and from peers: only canonical user names (and #group names) are offered,
// so nothing a server chooses reaches the screen or the line through completion.
using Parley.Messaging;

namespace Parley.Cli.Terminal;

public sealed class TabCompleter(IReadOnlyList<string> commands, Func<IEnumerable<string>> names)
{
    /// <summary>Commands whose first argument is a user name.</summary>
    private static readonly HashSet<string> s_takesUser = new(StringComparer.Ordinal) { "send", "verify", "trust" };

    /// <param name="Insert">Text to insert at the cursor (may be empty).</param>
    /// <param name="Candidates">More than one match and nothing more in common: what to show.</param>
    public readonly record struct Completion(string Insert, IReadOnlyList<string> Candidates);

    public Completion Complete(string line, int cursor)
    {
        string before = line[..cursor];
        int wordStart = before.LastIndexOf(' ') + 1;
        string word = before[wordStart..];
        string[] earlier = before[..wordStart].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        IEnumerable<string> pool;
        if (earlier.Length == 0)
        {
            pool = commands;
        }
        else if (earlier.Length == 1 && s_takesUser.Contains(earlier[0].ToLowerInvariant()))
        {
            pool = names().Where(IsName);
        }
        else
        {
            return new Completion("", []);
        }
        List<string> matches = pool.Where(candidate => candidate.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (matches.Count == 0)
        {
            return new Completion("", []);
        }
        bool atEnd = cursor == line.Length || line[cursor] != ' ';
        if (matches.Count == 1)
        {
            return new Completion(matches[0][word.Length..] + (atEnd ? " " : ""), []);
        }
        string common = CommonPrefix(matches);
        return common.Length > word.Length ? new Completion(common[word.Length..], []) : new Completion("", matches);
    }

    private static bool IsName(string candidate) => Usernames.IsCanonical(candidate.StartsWith('#') ? candidate[1..] : candidate);

    private static string CommonPrefix(List<string> values)
    {
        string prefix = values[0];
        foreach (string value in values)
        {
            int length = 0;
            while (length < prefix.Length && length < value.Length && char.ToLowerInvariant(prefix[length]) == char.ToLowerInvariant(value[length]))
            {
                length++;
            }
            prefix = prefix[..length];
        }
        return prefix;
    }
}
