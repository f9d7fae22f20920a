// What `parley chat` and `parley devices` ask at login: the password (again when it is empty, on a
// terminal), and, for a name the server does not know, whether to create the account, with its
// password typed twice. Without a terminal nothing is asked: a new name needs --register, so a
// typo in a script fails instead of creating an account.
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

internal sealed class ChatLoginQuestions(ChatConsole console, string user, bool register)
{
    private readonly Questions _questions = new(console);

    /// <summary>The policy for a name the server does not know.</summary>
    public NewAccountPolicy NewAccounts =>
        register ? NewAccountPolicy.Allowed
        : console.Interactive ? new NewAccountPolicy(false, _ => ValueTask.FromResult(AskToCreate()))
        : NewAccountPolicy.Refused;

    /// <summary>The password, asked again on a terminal when it comes back empty; null or empty when there is none.</summary>
    public string? Password()
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string? password = _questions.Secret("Password: ");
            if (!console.Interactive || password is null || password.Length > 0)
            {
                return password;
            }
            _questions.Say("The password may not be empty.");
        }
        return null;
    }

    /// <summary>Why the login stopped at an unknown name.</summary>
    public string NotRegistered() => console.Interactive
        ? $"[ERROR] {Name} was not registered."
        : $"[ERROR] {Name} is not registered on this server; to create the account, run again with --register.";

    private string Name => UntrustedText.Sanitize(user);

    private string? AskToCreate()
    {
        if (_questions.YesNo($"{Name} is not registered on this server; create it? (yes/no) ") != true)
        {
            return null;
        }
        return _questions.NewPassword($"Choose a password for {Name}: ", "Type it again: ");
    }
}
