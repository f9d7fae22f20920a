// The trust-on-first-use question of `parley chat` and `parley peer`, asked the way OpenSSH asks
// it: "yes", "no", or the fingerprint pasted from a trusted source (accepted only when it is the
// key's own); anything else asks again rather than being taken silently as a no.
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;

namespace Parley.Cli.Terminal;

internal sealed class TrustQuestion(Questions questions)
{
    public const string AskAgain = "Please type 'yes', 'no' or the fingerprint: ";

    /// <summary>Prints <paramref name="explanation"/>, then asks <paramref name="question"/> until it gets an answer; false at end of input.</summary>
    public bool Ask(PeerIdentity identity, IEnumerable<string> explanation, string question)
    {
        foreach (string line in explanation)
        {
            questions.Say(line);
        }
        string prompt = question;
        while (true)
        {
            string? answer = questions.Text(prompt)?.Trim();
            if (answer is null)
            {
                return false;
            }
            if (answer.Equals("yes", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            if (answer.Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            // A fingerprint copied from the line above may bring its full stop along.
            if (answer.StartsWith("SHA256:", StringComparison.Ordinal) && Fingerprint.Matches(answer.TrimEnd('.'), identity.Fingerprint))
            {
                return true;
            }
            if (answer.StartsWith("SHA256:", StringComparison.Ordinal))
            {
                questions.Say("That is not the fingerprint of this key.");
            }
            prompt = AskAgain;
        }
    }

    /// <summary>The server question of `parley chat`.</summary>
    public bool AskAboutServer(PeerIdentity identity) => Ask(identity,
        [
            "The authenticity of this server can't be established.",
            $"{identity.Algorithm.Name} key fingerprint is {identity.Fingerprint}.",
            "Compare it with the fingerprint the server printed at start-up.",
        ],
        "Are you sure you want to continue connecting (yes/no/[fingerprint])? ");

    /// <summary>The peer question of `parley peer`; <paramref name="name"/> is already sanitised.</summary>
    public bool AskAboutPeer(string name, PeerIdentity identity) => Ask(identity,
        [
            $"[*] New peer '{name}' with key {identity.Algorithm.Name} {identity.Fingerprint}.",
            $"[*] Compare this fingerprint with {name} out of band (they see it with 'parley id').",
        ],
        $"Trust {name} and remember this key (yes/no/[fingerprint])? ");

    /// <summary>OpenSSH's line once a new key is written down; <paramref name="name"/> is HOST:PORT or a peer's (sanitised) name.</summary>
    public static string Added(string name, PeerIdentity identity, string list) =>
        $"Permanently added '{name}' ({identity.Algorithm.Name}) to the list of {list}.";
}
