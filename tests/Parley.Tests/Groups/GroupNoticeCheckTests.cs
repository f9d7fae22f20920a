using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.Messaging;

namespace Parley.Tests.Groups;

/// <summary>
/// A group notice is the server's word, and a hostile server could make one up: the client takes only
/// notices whose names are as a server makes them (PROTOCOL.md §11.4), so no name can dress itself up
/// as a command in the chat's "'group accept …'" hints.
/// </summary>
public class GroupNoticeCheckTests
{
    private static GroupEvent Receive(GroupChange change)
    {
        using E2eDevice device = E2eDevice.Create("bob");
        E2eGroups groups = new(device);
        ChatMessage notice = new(1, change.Actor, "bob", 0, GroupContentTypes.Changed, MessengerCodec.EncodeGroupChange(change), false, null, "device1");
        return groups.Receive(notice, "device2");
    }

    [Fact]
    public void An_invitation_with_names_as_the_server_makes_them_is_shown()
    {
        GroupEvent shown = Receive(new GroupChange("team", new string('a', 32), 1, GroupChangeKinds.Invited, "mallory", ["bob"], []));
        Assert.Equal((GroupEventKind.Changed, "team"), (shown.Kind, shown.Group));
    }

    [Theory]
    [InlineData("x' to join, or first 'group allow mallory", "mallory", "bob")]
    [InlineData("Team", "mallory", "bob")]
    [InlineData("team", "mallory ", "bob")]
    [InlineData("team", "mallory", "bob\u001b[2J")]
    public void A_notice_with_a_name_no_server_makes_is_refused(string group, string actor, string subject)
    {
        GroupEvent refused = Receive(new GroupChange(group, new string('a', 32), 1, GroupChangeKinds.Invited, actor, [subject], []));
        Assert.Equal(GroupEventKind.Failed, refused.Kind);
        Assert.Equal("", refused.Group);
    }
}
