using Parley.Cli.CommandLine;
using Parley.Cli.Terminal;
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;

namespace Parley.Tests.Cli;

/// <summary>The prompts ask again on a bad answer; the trust question takes yes, no or the fingerprint (issue 14).</summary>
public class QuestionsTests
{
    /// <summary>Answers from a script, and everything shown (questions and lines) in order.</summary>
    private sealed class Script(params string?[] answers)
    {
        private readonly Queue<string?> _answers = new(answers);

        public List<string> Shown { get; } = [];

        public Questions Questions => new((question, _) =>
        {
            Shown.Add(question);
            return _answers.Count > 0 ? _answers.Dequeue() : null;
        }, Shown.Add);

        public int Left => _answers.Count;
    }

    private static PeerIdentity NewIdentity()
    {
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey();
        return new PeerIdentity(key.Algorithm, key.PublicKey.ToArray());
    }

    [Fact]
    public void A_port_prompt_asks_again_until_it_gets_a_port()
    {
        Script script = new("abc", "70000", "6000");
        Assert.Equal(6000, script.Questions.Port("Port: ", 5555));
        Assert.Equal(3, script.Shown.Count(s => s == "Port: "));
        Assert.Contains("'abc' is not a port number (1–65535).", script.Shown);
        Assert.Contains("'70000' is not a port number (1–65535).", script.Shown);
    }

    [Fact]
    public void A_port_prompt_takes_the_default_for_an_empty_answer_and_stops_at_end_of_input()
    {
        Assert.Equal(5555, new Script("").Questions.Port("Port: ", 5555));
        Assert.Null(new Script("abc").Questions.Port("Port: ", 5555));
    }

    [Fact]
    public void Yes_or_no_asks_again_for_anything_else()
    {
        Script script = new("y", "sure", "YES");
        Assert.True(script.Questions.YesNo("Create it? (yes/no) "));
        Assert.Equal(["Create it? (yes/no) ", "Please type 'yes' or 'no': ", "Please type 'yes' or 'no': "], script.Shown);
        Assert.False(new Script("no").Questions.YesNo("? "));
        Assert.Null(new Script("n").Questions.YesNo("? "));
    }

    [Fact]
    public void A_new_password_must_be_typed_twice_the_same()
    {
        Script script = new("first secret", "first secrte", "", "second secret", "second secret");
        Assert.Equal("second secret", script.Questions.NewPassword("New password: ", "Again: "));
        Assert.Contains("The passwords do not match; try again.", script.Shown);
        Assert.Contains("The password may not be empty.", script.Shown);
        Assert.Null(new Script("a", "b", "c", "d", "e", "f").Questions.NewPassword("New password: ", "Again: "));
    }

    [Fact]
    public void The_trust_question_takes_yes_and_no_and_asks_again_for_y()
    {
        PeerIdentity identity = NewIdentity();
        Script yes = new("y", "yes");
        Assert.True(new TrustQuestion(yes.Questions).AskAboutServer(identity));
        Assert.Contains($"ed25519 key fingerprint is {identity.Fingerprint}.", yes.Shown);
        Assert.Equal(TrustQuestion.AskAgain, yes.Shown[^1]);
        Assert.Equal("Please type 'yes', 'no' or the fingerprint: ", TrustQuestion.AskAgain);

        Script no = new("maybe", "no");
        Assert.False(new TrustQuestion(no.Questions).AskAboutServer(identity));
        Assert.False(new TrustQuestion(new Script().Questions).AskAboutServer(identity));
    }

    [Fact]
    public void A_pasted_fingerprint_is_accepted_only_when_it_is_the_keys_own()
    {
        PeerIdentity identity = NewIdentity();
        PeerIdentity other = NewIdentity();
        Script script = new(other.Fingerprint, identity.Fingerprint + ".");
        Assert.True(new TrustQuestion(script.Questions).AskAboutPeer("bob", identity));
        Assert.Contains("That is not the fingerprint of this key.", script.Shown);
        Assert.Equal(0, script.Left);

        Script wrongOnly = new(other.Fingerprint);
        Assert.False(new TrustQuestion(wrongOnly.Questions).AskAboutPeer("bob", identity));
    }

    [Fact]
    public void Acceptance_is_announced_like_OpenSSH()
    {
        PeerIdentity identity = NewIdentity();
        Assert.Equal("Permanently added 'localhost:5555' (ed25519) to the list of known hosts.", TrustQuestion.Added("localhost:5555", identity, "known hosts"));
    }

    [Theory]
    [InlineData("chta", "chat")]
    [InlineData("sever", "server")]
    [InlineData("peeer", "peer")]
    [InlineData("known-host", "known-hosts")]
    public void A_close_typo_suggests_the_command(string typed, string expected) =>
        Assert.Equal(expected, Suggestions.Closest(typed, ["server", "chat", "peer", "devices", "bench", "id", "keygen", "known-hosts", "known-peers", "version"]));

    [Theory]
    [InlineData("xylophone")]
    [InlineData("ls")]
    public void A_word_far_from_every_command_suggests_nothing(string typed) =>
        Assert.Null(Suggestions.Closest(typed, ["server", "chat", "peer", "devices", "bench", "id", "keygen", "version"]));
}
