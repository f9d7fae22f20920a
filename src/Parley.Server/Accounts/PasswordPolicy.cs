// What a new account's password must be (PROTOCOL.md §11.4): at least MinLength characters and
// not one of the most common passwords (CommonPasswords.txt, an embedded resource; its header
// says where it comes from). Existing accounts keep logging in with whatever they chose.
using System.Reflection;

namespace Parley.Server.Accounts;

public static class PasswordPolicy
{
    public const int MinLength = 8;

    private static readonly Lazy<HashSet<string>> s_common = new(LoadCommon);

    /// <summary>Null when <paramref name="password"/> may be used for a new account, else why not.</summary>
    public static string? RejectForNewAccount(string password)
    {
        if (password.Length < MinLength)
        {
            return $"choose a password of at least {MinLength} characters for a new account";
        }
        if (s_common.Value.Contains(password.ToLowerInvariant()))
        {
            return "that password is one of the most common passwords; choose another";
        }
        return null;
    }

    internal static int CommonCount => s_common.Value.Count;

    private static HashSet<string> LoadCommon()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Parley.Server.Accounts.CommonPasswords.txt")
            ?? throw new InvalidOperationException("the common-password list is missing from the build");
        using StreamReader reader = new(stream);
        HashSet<string> set = new(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            line = line.Trim();
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                set.Add(line.ToLowerInvariant());
            }
        }
        return set;
    }
}
