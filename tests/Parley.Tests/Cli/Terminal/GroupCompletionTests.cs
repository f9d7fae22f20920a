using Parley.Cli.Terminal;

namespace Parley.Tests.Cli.Terminal;

/// <summary>Tab completes `group` as a command and a group's #name after `send`, as parley chat offers them.</summary>
public class GroupCompletionTests
{
    private static readonly TabCompleter s_completer = new(Parley.Cli.Commands.ChatLoop.Commands, () => ["bob", "#team", "#travel"]);

    [Fact]
    public void Send_completes_group_names_with_their_hash()
    {
        Assert.Equal("am ", s_completer.Complete("send #te", 8).Insert);
        Assert.Equal(["#team", "#travel"], s_completer.Complete("send #t", 7).Candidates);
        Assert.Equal("oup ", s_completer.Complete("gr", 2).Insert);
    }
    /// <summary>
    /// Names come from the server (senders, `list`): one with an escape sequence is never offered,
    /// neither shown among candidates nor put on the line (found by review: an OSC 52 sequence
    /// could reach the terminal through Tab).
    /// </summary>
    [Fact]
    public void Names_that_are_not_canonical_are_never_offered()
    {
        TabCompleter completer = new(Parley.Cli.Commands.ChatLoop.Commands, () => ["bob\u001b]52;c;cm0gLXJmIH4=\u0007", "bobby", "bob\u202e", "#te\u001b[2Jam"]);
        Assert.Equal("by ", completer.Complete("send bob", 8).Insert);
        TabCompleter only = new(Parley.Cli.Commands.ChatLoop.Commands, () => ["x\u001b[2J\u001b[H"]);
        TabCompleter.Completion none = only.Complete("send x", 6);
        Assert.Equal(("", 0), (none.Insert, none.Candidates.Count));
        Assert.Equal(("", 0), (completer.Complete("send #te", 8).Insert, completer.Complete("send #te", 8).Candidates.Count));
    }
}
