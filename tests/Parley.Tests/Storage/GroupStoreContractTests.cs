using System.Text;
using Parley.Server.Storage;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>
/// IGroupStore's contract (PROTOCOL.md §11.7), run against every implementation
/// (SqliteGroupStoreContractTests, PostgresGroupStoreContractTests): every outcome and refusal of
/// each change, one version per change and none per refusal, both bounds, the admin hand-over, a
/// deleted group's name free again under a new id, names compared and sorted bytewise; and two
/// handles (two nodes) changing one group, or adding one user to many, at the same time.
/// </summary>
public abstract partial class GroupStoreContractTests
{
    private static readonly GroupBounds s_roomy = new(MaxMembers: 50, MaxGroupsPerUser: 10);

    /// <summary>Opens a handle on this test's store; every call opens another handle on the same data, as another node would.</summary>
    protected abstract Task<IMessageStore> OpenAsync();

    private static IGroupStore Groups(IMessageStore store) => Assert.IsAssignableFrom<IGroupStore>(store);

    private static async Task AddAccountsAsync(IMessageStore store, params string[] names)
    {
        foreach (string name in names)
        {
            string accountId = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32];
            Assert.True(await store.TryCreateAccountAsync(new Account(name, new PasswordVerifier("pbkdf2-sha256", 1000, [1, 2], [3, 4]), 7, accountId),
                CancellationToken.None));
        }
    }

    private static string NewGroupId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    private static Task<GroupChangeResult> CreateAsync(IGroupStore groups, string name, string creator, string[] members, long now = 1,
        GroupBounds? bounds = null, string? groupId = null) =>
        groups.CreateGroupAsync(name, groupId ?? NewGroupId(), creator, members, now, bounds ?? s_roomy, CancellationToken.None);

    private static Task<GroupChangeResult> AddAsync(IGroupStore groups, string name, string actor, string[] members, long now = 2, GroupBounds? bounds = null) =>
        groups.AddGroupMembersAsync(name, actor, members, now, bounds ?? s_roomy, CancellationToken.None);

    private static Task<GroupChangeResult> RemoveAsync(IGroupStore groups, string name, string actor, string[] members) =>
        groups.RemoveGroupMembersAsync(name, actor, members, CancellationToken.None);

    private static Task<StoredGroup?> FindAsync(IGroupStore groups, string name) => groups.FindGroupAsync(name, CancellationToken.None);

    /// <summary>The parts of a group a refusal must leave as they were.</summary>
    private static (long, string, string, string) Shape(StoredGroup? group) =>
        group is null ? (0, "", "", "") : (group.Version, group.GroupId, string.Join(',', group.Members), string.Join(',', group.Admins));

    [StoreFact]
    public async Task A_new_group_is_at_version_1_with_its_creator_as_only_admin_and_its_name_is_taken()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol");
        IGroupStore groups = Groups(store);
        string id = NewGroupId();

        // The creator named among the members, and a member named twice, count once.
        GroupChangeResult created = await CreateAsync(groups, "team", "alice", ["carol", "bob", "alice", "carol"], now: 42, groupId: id);
        Assert.Equal(GroupOutcome.Changed, created.Outcome);
        Assert.Equal(["alice", "bob", "carol"], created.Users);
        StoredGroup group = created.Group!;
        Assert.Equal(("team", id, 1L, 42L), (group.Name, group.GroupId, group.Version, group.CreatedAt));
        Assert.Equal(["alice", "bob", "carol"], group.Members);
        Assert.Equal(["alice"], group.Admins);
        Assert.Equal(Shape(group), Shape(await FindAsync(groups, "team")));

        GroupChangeResult taken = await CreateAsync(groups, "team", "bob", []);
        Assert.Equal((GroupOutcome.NameTaken, null), (taken.Outcome, taken.Group));
        Assert.Equal(Shape(group), Shape(await FindAsync(groups, "team")));
        // A creation of one group with only its creator is a group too.
        Assert.Equal(["bob"], (await CreateAsync(groups, "solo", "bob", [])).Group!.Members);
    }

    [StoreFact]
    public async Task Each_change_adds_one_to_the_version_and_each_refusal_changes_nothing()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol", "dave", "erin");
        IGroupStore groups = Groups(store);
        await CreateAsync(groups, "team", "alice", ["bob"]);

        GroupChangeResult added = await AddAsync(groups, "team", "alice", ["dave", "carol", "bob", "dave"]);
        Assert.Equal((GroupOutcome.Changed, 2L), (added.Outcome, added.Group!.Version));
        Assert.Equal(["carol", "dave"], added.Users);
        Assert.Equal(["alice", "bob", "carol", "dave"], added.Group.Members);

        GroupChangeResult unchanged = await AddAsync(groups, "team", "alice", ["bob", "carol"]);
        Assert.Equal((GroupOutcome.Unchanged, 2L), (unchanged.Outcome, unchanged.Group!.Version));
        Assert.Empty(unchanged.Users);

        (long, string, string, string) before = Shape(await FindAsync(groups, "team"));
        (GroupChangeResult Result, GroupOutcome Outcome, string[] Users)[] refusals =
        [
            (await AddAsync(groups, "team", "bob", ["erin"]), GroupOutcome.NotAdmin, ["bob"]),
            (await AddAsync(groups, "team", "erin", ["erin"]), GroupOutcome.NotAMember, ["erin"]),
            (await AddAsync(groups, "team", "alice", ["erin", "nobody", "ghost"]), GroupOutcome.UnknownUsers, ["ghost", "nobody"]),
            (await AddAsync(groups, "nope", "alice", ["erin"]), GroupOutcome.UnknownGroup, []),
            (await RemoveAsync(groups, "team", "bob", ["carol"]), GroupOutcome.NotAdmin, ["bob"]),
            (await RemoveAsync(groups, "team", "alice", ["erin", "carol", "zed"]), GroupOutcome.NotAMember, ["erin", "zed"]),
            (await RemoveAsync(groups, "nope", "alice", ["bob"]), GroupOutcome.UnknownGroup, []),
            (await groups.LeaveGroupAsync("team", "erin", CancellationToken.None), GroupOutcome.NotAMember, ["erin"]),
            (await groups.LeaveGroupAsync("nope", "alice", CancellationToken.None), GroupOutcome.UnknownGroup, []),
        ];
        foreach ((GroupChangeResult result, GroupOutcome outcome, string[] users) in refusals)
        {
            Assert.Equal((outcome, null), (result.Outcome, result.Group));
            Assert.Equal(users, result.Users);
        }
        Assert.Equal(before, Shape(await FindAsync(groups, "team")));
        Assert.Null(await FindAsync(groups, "nope"));

        GroupChangeResult removed = await RemoveAsync(groups, "team", "alice", ["dave", "carol"]);
        Assert.Equal((GroupOutcome.Changed, 3L), (removed.Outcome, removed.Group!.Version));
        Assert.Equal(["carol", "dave"], removed.Users);
        Assert.Equal(["alice", "bob"], removed.Group.Members);

        GroupChangeResult left = await groups.LeaveGroupAsync("team", "bob", CancellationToken.None);
        Assert.Equal((GroupOutcome.Changed, 4L), (left.Outcome, left.Group!.Version));
        Assert.Equal(["bob"], left.Users);
        Assert.Equal(["alice"], left.Group.Members);
    }

    [StoreFact]
    public async Task The_longest_standing_member_takes_over_from_the_last_admin_and_a_deleted_groups_name_comes_back_with_a_new_id()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol", "dave", "erin");
        IGroupStore groups = Groups(store);
        string firstId = NewGroupId();
        await CreateAsync(groups, "team", "alice", ["dave"], now: 10, groupId: firstId);
        await AddAsync(groups, "team", "alice", ["carol", "bob"], now: 20);
        await AddAsync(groups, "team", "alice", ["erin"], now: 30);

        // An admin may remove itself; dave joined first, so he takes over.
        GroupChangeResult removed = await RemoveAsync(groups, "team", "alice", ["alice"]);
        Assert.Equal(["dave"], removed.Group!.Admins);
        // dave leaves: bob and carol joined together, and the smaller name takes over.
        GroupChangeResult left = await groups.LeaveGroupAsync("team", "dave", CancellationToken.None);
        Assert.Equal(["bob"], left.Group!.Admins);
        Assert.Equal(["bob", "carol", "erin"], left.Group.Members);
        // A second admin is not replaced while another remains.
        await AddAsync(groups, "team", "bob", ["alice"], now: 40);
        Assert.Equal(["bob"], (await groups.LeaveGroupAsync("team", "carol", CancellationToken.None)).Group!.Admins);

        foreach (string member in new[] { "alice", "bob" })
        {
            Assert.Equal(GroupOutcome.Changed, (await groups.LeaveGroupAsync("team", member, CancellationToken.None)).Outcome);
        }
        GroupChangeResult last = await groups.LeaveGroupAsync("team", "erin", CancellationToken.None);
        Assert.Equal((GroupOutcome.Changed, 10L), (last.Outcome, last.Group!.Version));
        Assert.Empty(last.Group.Members);
        Assert.Null(await FindAsync(groups, "team"));
        Assert.Empty(await groups.GroupsOfAsync("erin", CancellationToken.None));

        // The name is free; the new group is a new group, at version 1 under the id it was given.
        string secondId = NewGroupId();
        StoredGroup again = (await CreateAsync(groups, "team", "carol", ["erin"], groupId: secondId)).Group!;
        Assert.Equal((secondId, 1L), (again.GroupId, again.Version));
        Assert.Equal(["carol"], again.Admins);
        Assert.NotEqual(firstId, again.GroupId);
        Assert.Equal([new GroupSummaryRow("team", secondId, 1, 2)], await groups.GroupsOfAsync("erin", CancellationToken.None));
    }

    [StoreFact]
    public async Task Both_bounds_hold_and_count_exactly()
    {
        await using IMessageStore store = await OpenAsync();
        await AddAccountsAsync(store, "alice", "bob", "carol", "dave");
        IGroupStore groups = Groups(store);
        GroupBounds tight = new(MaxMembers: 3, MaxGroupsPerUser: 2);

        // Size: the creator counts; three fill a group, a fourth is refused at creation and when added.
        Assert.Equal(GroupOutcome.GroupFull, (await CreateAsync(groups, "big", "alice", ["bob", "carol", "dave"], bounds: tight)).Outcome);
        Assert.Null(await FindAsync(groups, "big"));
        Assert.Equal(GroupOutcome.Changed, (await CreateAsync(groups, "one", "alice", ["bob", "carol"], bounds: tight)).Outcome);
        Assert.Equal(GroupOutcome.GroupFull, (await AddAsync(groups, "one", "alice", ["dave"], bounds: tight)).Outcome);

        // Groups per user: bob reaches two; a third naming him is refused whole, with the users that caused it.
        Assert.Equal(GroupOutcome.Changed, (await CreateAsync(groups, "two", "alice", ["bob"], bounds: tight)).Outcome);
        GroupChangeResult third = await CreateAsync(groups, "three", "dave", ["bob", "carol"], bounds: tight);
        Assert.Equal(GroupOutcome.TooManyGroups, third.Outcome);
        Assert.Equal(["bob"], third.Users);
        Assert.Null(await FindAsync(groups, "three"));
        // The creator counts too.
        GroupChangeResult byAlice = await CreateAsync(groups, "four", "alice", [], bounds: tight);
        Assert.Equal(GroupOutcome.TooManyGroups, byAlice.Outcome);
        Assert.Equal(["alice"], byAlice.Users);
        Assert.Equal(GroupOutcome.Changed, (await CreateAsync(groups, "five", "dave", [], bounds: tight)).Outcome);
        GroupChangeResult addBob = await AddAsync(groups, "five", "dave", ["carol", "bob"], bounds: tight);
        Assert.Equal(GroupOutcome.TooManyGroups, addBob.Outcome);
        Assert.Equal(["bob"], addBob.Users);
        Assert.Equal(["dave"], (await FindAsync(groups, "five"))!.Members);

        // Leaving makes room again.
        await groups.LeaveGroupAsync("two", "bob", CancellationToken.None);
        Assert.Equal(GroupOutcome.Changed, (await AddAsync(groups, "five", "dave", ["bob"], bounds: tight)).Outcome);
        Assert.Equal(["five", "one"], (await groups.GroupsOfAsync("bob", CancellationToken.None)).Select(g => g.Name));
    }

    [StoreFact]
    public async Task Names_are_compared_exactly_and_sorted_bytewise()
    {
        await using IMessageStore store = await OpenAsync();
        // Bytewise: '-' < '.' < '1' < '_' < 'b'; a locale's collation would put them otherwise.
        string[] names = ["ab", "a_b", "a1", "a.b", "a-b"];
        await AddAccountsAsync(store, [.. names, "Ab"]);
        IGroupStore groups = Groups(store);

        StoredGroup group = (await CreateAsync(groups, "team", "ab", names[1..])).Group!;
        Assert.Equal(["a-b", "a.b", "a1", "a_b", "ab"], group.Members);
        Assert.Equal(group.Members, (await FindAsync(groups, "team"))!.Members);
        foreach (string name in names[1..])
        {
            await CreateAsync(groups, name, "ab", []);
        }
        Assert.Equal(["a-b", "a.b", "a1", "a_b", "team"], (await groups.GroupsOfAsync("ab", CancellationToken.None)).Select(g => g.Name));
        Assert.Equal([1, 1, 1, 1, 5], (await groups.GroupsOfAsync("ab", CancellationToken.None)).Select(g => g.MemberCount));

        // Callers pass canonical names; the store does not fold case.
        Assert.Null(await FindAsync(groups, "Team"));
        Assert.Equal(GroupOutcome.Changed, (await CreateAsync(groups, "Team", "Ab", [])).Outcome);
        Assert.Equal(GroupOutcome.NotAMember, (await AddAsync(groups, "team", "Ab", ["ab"])).Outcome);
        Assert.Equal(GroupOutcome.UnknownUsers, (await AddAsync(groups, "team", "ab", ["AB"])).Outcome);
    }

    [StoreFact]
    public async Task Two_handles_changing_one_group_at_once_never_share_a_version()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        string[] users = [.. Enumerable.Range(0, 16).Select(i => $"user{i:D2}")];
        await AddAccountsAsync(one, ["alice", .. users]);
        await CreateAsync(Groups(one), "team", "alice", []);

        GroupChangeResult[] adds = await Task.WhenAll(users.Select((u, i) => AddAsync(Groups(i % 2 == 0 ? one : two), "team", "alice", [u])));
        Assert.All(adds, a => Assert.Equal(GroupOutcome.Changed, a.Outcome));
        Assert.Equal(Enumerable.Range(2, users.Length).Select(v => (long)v), adds.Select(a => a.Group!.Version).Order());
        // Each change saw every change before it: a version's group holds exactly as many members.
        Assert.All(adds, a => Assert.Equal(a.Group!.Version, a.Group.Members.Count));

        GroupChangeResult[] leaves = await Task.WhenAll(users.Select((u, i) => Groups(i % 2 == 0 ? two : one).LeaveGroupAsync("team", u, CancellationToken.None)));
        Assert.Equal(Enumerable.Range(users.Length + 2, users.Length).Select(v => (long)v), leaves.Select(l => l.Group!.Version).Order());
        StoredGroup after = (await FindAsync(Groups(two), "team"))!;
        Assert.Equal(2L * users.Length + 1, after.Version);
        Assert.Equal(["alice"], after.Members);
    }

    [StoreFact]
    public async Task Two_handles_filling_one_group_at_once_keep_its_size_bound()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        string[] users = [.. Enumerable.Range(0, 12).Select(i => $"user{i:D2}")];
        await AddAccountsAsync(one, ["alice", .. users]);
        GroupBounds bounds = new(MaxMembers: 5, MaxGroupsPerUser: 10);
        await CreateAsync(Groups(one), "team", "alice", [], bounds: bounds);

        GroupChangeResult[] adds = await Task.WhenAll(users.Select((u, i) => AddAsync(Groups(i % 2 == 0 ? one : two), "team", "alice", [u], bounds: bounds)));
        Assert.Equal(4, adds.Count(a => a.Outcome == GroupOutcome.Changed));
        Assert.All(adds.Where(a => a.Outcome != GroupOutcome.Changed), a => Assert.Equal(GroupOutcome.GroupFull, a.Outcome));
        StoredGroup after = (await FindAsync(Groups(two), "team"))!;
        Assert.Equal((5L, 5), (after.Version, after.Members.Count));
    }

    [StoreFact]
    public async Task Two_handles_adding_one_user_to_many_groups_at_once_keep_the_per_user_bound()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        string[] admins = [.. Enumerable.Range(0, 8).Select(i => $"admin{i}")];
        await AddAccountsAsync(one, ["bob", .. admins]);
        foreach (string admin in admins)
        {
            await CreateAsync(Groups(one), "g-" + admin, admin, []);
        }
        GroupBounds bounds = new(MaxMembers: 50, MaxGroupsPerUser: 3);

        GroupChangeResult[] adds = await Task.WhenAll(admins.Select((a, i) => AddAsync(Groups(i % 2 == 0 ? one : two), "g-" + a, a, ["bob"], bounds: bounds)));
        Assert.Equal(3, adds.Count(a => a.Outcome == GroupOutcome.Changed));
        Assert.All(adds.Where(a => a.Outcome != GroupOutcome.Changed), a => Assert.Equal((GroupOutcome.TooManyGroups, "bob"), (a.Outcome, Assert.Single(a.Users))));
        Assert.Equal(3, (await Groups(two).GroupsOfAsync("bob", CancellationToken.None)).Count);
    }

    [StoreFact]
    public async Task Two_handles_creating_one_name_at_once_make_one_group()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        string[] creators = [.. Enumerable.Range(0, 8).Select(i => $"user{i}")];
        await AddAccountsAsync(one, creators);

        GroupChangeResult[] creations = await Task.WhenAll(creators.Select((c, i) => CreateAsync(Groups(i % 2 == 0 ? one : two), "team", c, [])));
        GroupChangeResult winner = Assert.Single(creations, c => c.Outcome == GroupOutcome.Changed);
        Assert.All(creations.Where(c => c != winner), c => Assert.Equal(GroupOutcome.NameTaken, c.Outcome));
        Assert.Equal(Shape(winner.Group), Shape(await FindAsync(Groups(two), "team")));
        // The losers' creations left nothing behind: each is in no group.
        foreach (string creator in creators.Where(c => c != winner.Group!.Admins[0]))
        {
            Assert.Empty(await Groups(one).GroupsOfAsync(creator, CancellationToken.None));
        }
    }
}
