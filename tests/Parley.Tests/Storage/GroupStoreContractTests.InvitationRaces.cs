using Parley.Server.Storage;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>
/// The invitation bounds under two handles (two nodes) writing at once: each change trims a user's rows
/// as it commits, so two changes that trimmed side by side could each leave one row too many. Every row
/// is listed (a listing under the rules stops at MaxPerUser and would hide the overshoot).
/// </summary>
public abstract partial class GroupStoreContractTests
{
    [StoreFact]
    public async Task Two_handles_inviting_one_user_at_once_keep_the_invitation_bounds()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        string[] strangers = [.. Enumerable.Range(0, 9).Select(i => $"mallory{i}")];
        await AddAccountsAsync(one, ["victim", .. strangers]);
        InvitationRules rules = s_rules with { MaxPerUser = 4, MaxPerInviter = 2 };
        GroupBounds bounds = new(MaxMembers: 50, MaxGroupsPerUser: 10) { Invitations = rules };
        InvitationRules everything = rules with { MaxPerUser = 1_000 };
        IGroupStore Handle(int i) => Groups(i % 2 == 0 ? one : two);

        // One stranger, eight groups at once: its two newest stay, whichever commits last.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => CreateAsync(Handle(i), $"spam{i}", strangers[0], ["victim"], now: 10 + i, bounds: bounds)));
        Assert.Equal(["spam6", "spam7"], (await Handle(0).InvitationsOfAsync("victim", 20, everything, CancellationToken.None)).Select(i => i.Group));

        // Eight more, one group each at once: the four newest of all stay.
        await Task.WhenAll(Enumerable.Range(1, 8).Select(i => CreateAsync(Handle(i), $"g{i}", strangers[i], ["victim"], now: 100 + i, bounds: bounds)));
        Assert.Equal(["g5", "g6", "g7", "g8"], (await Handle(1).InvitationsOfAsync("victim", 200, everything, CancellationToken.None)).Select(i => i.Group));
    }

    [StoreFact]
    public async Task Two_handles_allowing_for_one_user_at_once_keep_the_allowed_bound()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        string[] others = [.. Enumerable.Range(0, 8).Select(i => $"user{i}")];
        await AddAccountsAsync(one, ["bob", .. others]);
        InvitationRules rules = s_rules with { MaxAllowed = 3 };

        GroupOutcome[] outcomes = await Task.WhenAll(others.Select((o, i) =>
            Groups(i % 2 == 0 ? one : two).SetAddsAllowedAsync("bob", o, true, 10 + i, rules, CancellationToken.None)));
        Assert.All(outcomes, o => Assert.Equal(GroupOutcome.Changed, o));
        Assert.Equal(["user5", "user6", "user7"], await Groups(two).AddsAllowedByAsync("bob", CancellationToken.None));
    }
}
