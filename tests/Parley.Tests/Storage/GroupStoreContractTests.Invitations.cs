using Parley.Server.Storage;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>
/// Consent before a group add (PROTOCOL.md §11.7, docs/decisions/0016), against every store: a user
/// who has not allowed the actor is invited, not added; an invitation is no membership and takes no
/// place in either bound; accepting is one change with its bounds; declining and expiry forget it;
/// and the attacker's floods keep only the newest invitations.
/// </summary>
public abstract partial class GroupStoreContractTests
{
    private static readonly InvitationRules s_rules = InvitationRules.Default;
    private static readonly GroupBounds s_asking = new(MaxMembers: 50, MaxGroupsPerUser: 10) { Invitations = s_rules };

    private static Task<GroupChangeResult> AcceptAsync(IGroupStore groups, string name, string user, long now = 5, GroupBounds? bounds = null) =>
        groups.AcceptInvitationAsync(name, user, now, bounds ?? s_asking, CancellationToken.None);

    private static async Task<string[]> InvitationsAsync(IGroupStore groups, string user, long now = 5) =>
        [.. (await groups.InvitationsOfAsync(user, now, s_rules, CancellationToken.None)).Select(i => $"{i.Group}<{i.InvitedBy}")];

    private static Task AllowAsync(IGroupStore groups, string user, string other, bool allowed = true, long now = 1) =>
        groups.SetAddsAllowedAsync(user, other, allowed, now, s_rules, CancellationToken.None);

    [StoreFact]
    public async Task A_user_who_has_not_allowed_the_actor_is_invited_and_an_invitation_is_no_membership()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol", "dave");
        IGroupStore groups = Groups(store);
        await AllowAsync(groups, "carol", "alice");

        GroupChangeResult created = await CreateAsync(groups, "team", "alice", ["bob", "carol"], now: 3, bounds: s_asking);
        Assert.Equal(GroupOutcome.Changed, created.Outcome);
        Assert.Equal(["alice", "carol"], created.Users);
        Assert.Equal(["bob"], created.Invited);
        Assert.Equal(["alice", "carol"], created.Group!.Members);
        Assert.Equal(["team<alice"], await InvitationsAsync(groups, "bob"));
        Assert.Empty(await groups.GroupsOfAsync("bob", CancellationToken.None));
        Assert.Empty(await InvitationsAsync(groups, "carol"));

        // An add of only strangers changes no version; naming an invited user again invites nobody new.
        GroupChangeResult invited = await AddAsync(groups, "team", "alice", ["dave", "bob"], bounds: s_asking);
        Assert.Equal((GroupOutcome.Unchanged, 1L), (invited.Outcome, invited.Group!.Version));
        Assert.Equal(["dave"], invited.Invited);
        Assert.Empty(invited.Users);
        Assert.Equal(["team<alice"], await InvitationsAsync(groups, "dave"));
        Assert.Empty((await AddAsync(groups, "team", "alice", ["bob", "dave"], bounds: s_asking)).Invited);

        // Without invitation rules (the server's --group-adds everyone) everyone named is added.
        GroupChangeResult direct = await CreateAsync(groups, "open", "dave", ["bob"]);
        Assert.Equal(["bob", "dave"], direct.Group!.Members);
        Assert.Empty(direct.Invited);
    }

    [StoreFact]
    public async Task Accepting_makes_a_member_without_allowing_the_inviter_and_declining_forgets_the_invitation()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol");
        IGroupStore groups = Groups(store);
        await CreateAsync(groups, "team", "alice", ["bob"], bounds: s_asking);
        await CreateAsync(groups, "club", "carol", ["bob"], bounds: s_asking);

        Assert.Equal((GroupOutcome.NotInvited, null), ((await AcceptAsync(groups, "team", "carol")).Outcome, (StoredGroup?)null));
        GroupChangeResult accepted = await AcceptAsync(groups, "team", "bob", now: 9);
        Assert.Equal((GroupOutcome.Changed, 2L), (accepted.Outcome, accepted.Group!.Version));
        Assert.Equal(["bob"], accepted.Users);
        Assert.Equal(["alice", "bob"], accepted.Group.Members);
        Assert.Equal(["alice"], accepted.Group.Admins);
        Assert.Equal(GroupOutcome.NotInvited, (await AcceptAsync(groups, "team", "bob")).Outcome);
        // One accepted group does not open the door to more: alice's next group asks again, until bob allows her.
        Assert.Empty(await groups.AddsAllowedByAsync("bob", CancellationToken.None));
        Assert.Equal(["bob"], (await CreateAsync(groups, "next", "alice", ["bob"], bounds: s_asking)).Invited);
        await AllowAsync(groups, "bob", "alice");
        Assert.Equal(["alice"], await groups.AddsAllowedByAsync("bob", CancellationToken.None));
        await CreateAsync(groups, "more", "alice", ["bob"], bounds: s_asking);
        Assert.Equal(["alice", "bob"], (await FindAsync(groups, "more"))!.Members);

        Assert.True(await groups.DeclineInvitationAsync("club", "bob", 9, s_rules, CancellationToken.None));
        Assert.False(await groups.DeclineInvitationAsync("club", "bob", 9, s_rules, CancellationToken.None));
        Assert.Equal(GroupOutcome.NotInvited, (await AcceptAsync(groups, "club", "bob")).Outcome);
        Assert.Equal(["carol"], (await FindAsync(groups, "club"))!.Members);
        Assert.Equal(["next<alice"], await InvitationsAsync(groups, "bob"));

        // Disallowing goes back to asking; allowing a name with no account is refused.
        await AllowAsync(groups, "bob", "alice", allowed: false);
        Assert.Empty(await groups.AddsAllowedByAsync("bob", CancellationToken.None));
        Assert.Equal(["bob"], (await CreateAsync(groups, "again", "alice", ["bob"], bounds: s_asking)).Invited);
        Assert.Equal(GroupOutcome.UnknownUsers, await groups.SetAddsAllowedAsync("bob", "nobody", true, 1, s_rules, CancellationToken.None));
    }

    [StoreFact]
    public async Task Accepting_keeps_both_bounds_and_an_invitation_expires_or_goes_with_its_group()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol", "dave");
        IGroupStore groups = Groups(store);
        GroupBounds small = new(MaxMembers: 2, MaxGroupsPerUser: 1) { Invitations = s_rules };
        await CreateAsync(groups, "team", "alice", ["bob", "carol"], bounds: small);
        Assert.Equal(GroupOutcome.Changed, (await AcceptAsync(groups, "team", "bob", bounds: small)).Outcome);
        (long, string, string, string) full = Shape(await FindAsync(groups, "team"));
        GroupChangeResult tooBig = await AcceptAsync(groups, "team", "carol", bounds: small);
        Assert.Equal((GroupOutcome.GroupFull, null), (tooBig.Outcome, tooBig.Group));
        Assert.Equal(full, Shape(await FindAsync(groups, "team")));
        Assert.Equal(["team<alice"], await InvitationsAsync(groups, "carol"));
        // A full group may still invite: only a join takes a place.
        GroupChangeResult inviteOnly = await AddAsync(groups, "team", "alice", ["dave"], bounds: small);
        Assert.Equal(GroupOutcome.Unchanged, inviteOnly.Outcome);
        Assert.Equal(["dave"], inviteOnly.Invited);

        await CreateAsync(groups, "club", "dave", ["bob"], bounds: small);
        GroupChangeResult tooMany = await AcceptAsync(groups, "club", "bob", bounds: small);
        Assert.Equal(GroupOutcome.TooManyGroups, tooMany.Outcome);
        Assert.Equal(["bob"], tooMany.Users);
        Assert.Contains("club<dave", await InvitationsAsync(groups, "bob"));

        // 30 days on, carol's invitation is gone; and dave's group going takes bob's invitation with it.
        long later = 5 + (long)s_rules.Lifetime.TotalMilliseconds + 1;
        Assert.Empty(await InvitationsAsync(groups, "carol", now: later));
        Assert.Equal(GroupOutcome.NotInvited, (await AcceptAsync(groups, "team", "carol", now: later)).Outcome);
        Assert.False(await groups.DeclineInvitationAsync("team", "carol", later, s_rules, CancellationToken.None));
        // Invited again after it expired: the old row is renewed and counts again (refused now only because the group is full).
        Assert.Equal(["carol"], (await AddAsync(groups, "team", "alice", ["carol"], now: later, bounds: small)).Invited);
        Assert.Equal(["team<alice"], await InvitationsAsync(groups, "carol", now: later + 1));
        Assert.Equal(GroupOutcome.GroupFull, (await AcceptAsync(groups, "team", "carol", now: later + 1, bounds: small)).Outcome);
        await groups.LeaveGroupAsync("club", "dave", CancellationToken.None);
        Assert.Empty(await InvitationsAsync(groups, "bob"));
        // A new group under the old name does not revive it.
        await CreateAsync(groups, "club", "dave", [], bounds: small);
        Assert.Equal(GroupOutcome.NotInvited, (await AcceptAsync(groups, "club", "bob")).Outcome);
    }

    [StoreFact]
    public async Task A_stranger_flooding_invitations_leaves_the_victims_groups_alone_and_only_the_newest_invitations_stay()
    {
        await using IMessageStore store = await OpenAsync();
        string[] strangers = [.. Enumerable.Range(0, 12).Select(i => $"mallory{i:D2}")];
        await AddAccountsAsync(store, ["victim", "friend", .. strangers]);
        IGroupStore groups = Groups(store);
        GroupBounds bounds = new(MaxMembers: 50, MaxGroupsPerUser: 6) { Invitations = s_rules };

        // One stranger, six groups: the five newest stay.
        for (int i = 0; i < 6; i++)
        {
            await CreateAsync(groups, $"spam{i}", strangers[0], ["victim"], now: 100 + i, bounds: bounds);
        }
        string[] newestFive = [.. Enumerable.Range(1, 5).Select(i => $"spam{i}<{strangers[0]}")];
        Assert.Equal(newestFive, await InvitationsAsync(groups, "victim", now: 200));

        // Eleven more strangers, five groups each (60 invitations in all): the 50 newest stay.
        long now = 1_000;
        for (int s = 1; s < strangers.Length; s++)
        {
            for (int i = 0; i < 5; i++)
            {
                await CreateAsync(groups, $"g{s:D2}x{i}", strangers[s], ["victim"], now: now++, bounds: bounds);
            }
        }
        string[] left = await InvitationsAsync(groups, "victim", now: now);
        Assert.Equal(s_rules.MaxPerUser, left.Length);
        Assert.DoesNotContain(left, l => l.StartsWith("spam", StringComparison.Ordinal));
        Assert.Contains($"g11x4<{strangers[11]}", left);
        Assert.DoesNotContain($"g01x4<{strangers[1]}", left);

        // None of it took a place in the victim's group bound: a friend's groups still fit.
        await AllowAsync(groups, "victim", "friend");
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(["friend", "victim"], (await CreateAsync(groups, $"real{i}", "friend", ["victim"], bounds: bounds)).Group!.Members);
        }
    }

    [StoreFact]
    public async Task An_admin_withdraws_an_invitation_by_removing_the_name()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol", "dave", "erin");
        IGroupStore groups = Groups(store);
        await AllowAsync(groups, "bob", "alice");
        await CreateAsync(groups, "team", "alice", ["bob", "carol", "dave"], bounds: s_asking);

        // Only invitations: nothing changes but the invitation, and the invitee can no longer take it up.
        GroupChangeResult withdrawn = await RemoveAsync(groups, "team", "alice", ["carol"]);
        Assert.Equal((GroupOutcome.Unchanged, 1L), (withdrawn.Outcome, withdrawn.Group!.Version));
        Assert.Equal(["carol"], withdrawn.Withdrawn);
        Assert.Empty(await InvitationsAsync(groups, "carol"));
        Assert.Equal(GroupOutcome.NotInvited, (await AcceptAsync(groups, "team", "carol")).Outcome);

        // A member and an invitation in one request; a name that is neither still refuses the whole request.
        Assert.Equal(GroupOutcome.NotAMember, (await RemoveAsync(groups, "team", "alice", ["dave", "erin"])).Outcome);
        Assert.Equal(["team<alice"], await InvitationsAsync(groups, "dave"));
        GroupChangeResult both = await RemoveAsync(groups, "team", "alice", ["bob", "dave"]);
        Assert.Equal((GroupOutcome.Changed, 2L), (both.Outcome, both.Group!.Version));
        Assert.Equal(["bob"], both.Users);
        Assert.Equal(["dave"], both.Withdrawn);
        Assert.Equal(["alice"], both.Group.Members);
        Assert.Empty(await InvitationsAsync(groups, "dave"));
        // Only an admin withdraws.
        await CreateAsync(groups, "club", "alice", ["erin"], bounds: s_asking);
        Assert.Equal(GroupOutcome.NotAMember, (await RemoveAsync(groups, "club", "bob", ["erin"])).Outcome);
        Assert.Equal(["club<alice"], await InvitationsAsync(groups, "erin"));
    }

    [StoreFact]
    public async Task Allowing_more_users_than_the_bound_drops_the_oldest_allowed()
    {
        await using IMessageStore store = await OpenAsync();
        string[] others = [.. Enumerable.Range(0, 4).Select(i => $"user{i}")];
        await AddAccountsAsync(store, ["bob", .. others]);
        IGroupStore groups = Groups(store);
        InvitationRules rules = s_rules with { MaxAllowed = 3 };
        for (int i = 0; i < others.Length; i++)
        {
            Assert.Equal(GroupOutcome.Changed, await groups.SetAddsAllowedAsync("bob", others[i], true, 10 + i, rules, CancellationToken.None));
        }
        Assert.Equal(["user1", "user2", "user3"], await groups.AddsAllowedByAsync("bob", CancellationToken.None));
    }
}
