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
}
