// Groups in SQLite (IGroupStore): one row per group and one per member. Every change runs on the
// one writer in one transaction that checks rights, accounts and bounds before it writes, so a
// refusal changes nothing and two changes of a group never share a version.
using Microsoft.Data.Sqlite;
using Parley.Server.Hosting;

namespace Parley.Server.Storage;

public sealed partial class SqliteMessageStore : IGroupStore
{
    private static async Task CreateGroupTablesAsync(SqliteConnection writer, CancellationToken cancellationToken)
    {
        await ExecuteAsync(writer, """
            CREATE TABLE IF NOT EXISTS chat_groups (
                name        TEXT PRIMARY KEY,
                group_id    TEXT NOT NULL UNIQUE,
                version     INTEGER NOT NULL,
                created_at  INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS group_members (
                group_name  TEXT NOT NULL REFERENCES chat_groups(name) ON DELETE CASCADE,
                username    TEXT NOT NULL,
                is_admin    INTEGER NOT NULL,
                joined_at   INTEGER NOT NULL,
                PRIMARY KEY (group_name, username));
            CREATE INDEX IF NOT EXISTS group_members_by_user ON group_members (username);
            """, cancellationToken).ConfigureAwait(false);
        await CreateInvitationTablesAsync(writer, cancellationToken).ConfigureAwait(false);
    }

    private sealed record MemberRow(string User, bool Admin, long JoinedAt);

    public Task<GroupChangeResult> CreateGroupAsync(string name, string groupId, string creator, IReadOnlyCollection<string> members, long now,
        GroupBounds bounds, CancellationToken cancellationToken) =>
        InGroupTransactionAsync(async transaction =>
        {
            if (await ReadGroupRowAsync(transaction, name, cancellationToken).ConfigureAwait(false) is not null)
            {
                return GroupChangeResult.Refused(GroupOutcome.NameTaken);
            }
            string[] named = [.. members.Append(creator).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            (string[] all, string[] invited) = await SplitByConsentAsync(transaction, name, creator, named, now, bounds, cancellationToken).ConfigureAwait(false);
            if (all.Length > bounds.MaxMembers)
            {
                return GroupChangeResult.Refused(GroupOutcome.GroupFull);
            }
            if (await RefuseUsersAsync(transaction, named, all, bounds, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            await using SqliteCommand insert = Command(transaction, "INSERT INTO chat_groups (name, group_id, version, created_at) VALUES ($n, $g, 1, $c)");
            insert.Parameters.AddWithValue("$n", name);
            insert.Parameters.AddWithValue("$g", groupId);
            insert.Parameters.AddWithValue("$c", now);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await InsertMembersAsync(transaction, name, all, creator, now, cancellationToken).ConfigureAwait(false);
            await InviteAsync(transaction, name, groupId, creator, invited, now, bounds, cancellationToken).ConfigureAwait(false);
            StoredGroup group = (await LoadGroupAsync(transaction, name, cancellationToken).ConfigureAwait(false))!;
            return new GroupChangeResult(GroupOutcome.Changed, group, all) { Invited = invited };
        }, cancellationToken);

    public Task<GroupChangeResult> AddGroupMembersAsync(string name, string actor, IReadOnlyCollection<string> members, long now, GroupBounds bounds,
        CancellationToken cancellationToken) =>
        InGroupTransactionAsync(async transaction =>
        {
            (StoredGroup? group, GroupChangeResult? refusal) = await LoadForAdminAsync(transaction, name, actor, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }
            string[] named = [.. members.Distinct(StringComparer.Ordinal).Where(m => !group!.Members.Contains(m, StringComparer.Ordinal)).Order(StringComparer.Ordinal)];
            (string[] added, string[] invited) = await SplitByConsentAsync(transaction, name, actor, named, now, bounds, cancellationToken).ConfigureAwait(false);
            // Only those who join take a place: an add that only invites never meets group_full.
            if (added.Length > 0 && group!.Members.Count + added.Length > bounds.MaxMembers)
            {
                return GroupChangeResult.Refused(GroupOutcome.GroupFull);
            }
            if (await RefuseUsersAsync(transaction, named, added, bounds, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            await InviteAsync(transaction, name, group!.GroupId, actor, invited, now, bounds, cancellationToken).ConfigureAwait(false);
            if (added.Length == 0)
            {
                return new GroupChangeResult(GroupOutcome.Unchanged, group, []) { Invited = invited };
            }
            await ForgetInvitationsAsync(transaction, name, added, cancellationToken).ConfigureAwait(false);
            await InsertMembersAsync(transaction, name, added, admin: null, now, cancellationToken).ConfigureAwait(false);
            return await BumpAsync(transaction, name, added, cancellationToken).ConfigureAwait(false) with { Invited = invited };
        }, cancellationToken);

    public Task<GroupChangeResult> RemoveGroupMembersAsync(string name, string actor, IReadOnlyCollection<string> members, CancellationToken cancellationToken) =>
        InGroupTransactionAsync(async transaction =>
        {
            (StoredGroup? group, GroupChangeResult? refusal) = await LoadForAdminAsync(transaction, name, actor, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }
            string[] named = [.. members.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            string[] removed = [.. named.Where(m => group!.Members.Contains(m, StringComparer.Ordinal))];
            string[] invited = await InvitedAmongAsync(transaction, name, [.. named.Except(removed, StringComparer.Ordinal)], cancellationToken).ConfigureAwait(false);
            string[] strangers = [.. named.Except(removed, StringComparer.Ordinal).Except(invited, StringComparer.Ordinal)];
            if (strangers.Length > 0)
            {
                return GroupChangeResult.Refused(GroupOutcome.NotAMember, strangers);
            }
            await ForgetInvitationsAsync(transaction, name, invited, cancellationToken).ConfigureAwait(false);
            return removed.Length == 0 ? new GroupChangeResult(GroupOutcome.Unchanged, group, []) { Withdrawn = invited }
                : await DeleteMembersAsync(transaction, name, removed, cancellationToken).ConfigureAwait(false) with { Withdrawn = invited };
        }, cancellationToken);

    public Task<GroupChangeResult> LeaveGroupAsync(string name, string user, CancellationToken cancellationToken) =>
        InGroupTransactionAsync(async transaction =>
        {
            StoredGroup? group = await LoadGroupAsync(transaction, name, cancellationToken).ConfigureAwait(false);
            if (group is null)
            {
                return GroupChangeResult.Refused(GroupOutcome.UnknownGroup);
            }
            if (!group.Members.Contains(user, StringComparer.Ordinal))
            {
                return GroupChangeResult.Refused(GroupOutcome.NotAMember, user);
            }
            return await DeleteMembersAsync(transaction, name, [user], cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<StoredGroup?> FindGroupAsync(string name, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Read on the writer: the answer is exactly what the last change committed.
            await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            return await LoadGroupAsync(transaction, name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<GroupSummaryRow>> GroupsOfAsync(string user, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT g.name, g.group_id, g.version, (SELECT count(*) FROM group_members c WHERE c.group_name = g.name)
            FROM group_members m JOIN chat_groups g ON g.name = m.group_name WHERE m.username = $u ORDER BY g.name
            """;
        command.Parameters.AddWithValue("$u", user);
        List<GroupSummaryRow> groups = [];
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groups.Add(new GroupSummaryRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3)));
        }
        return groups;
    }

    /// <summary>A group change on the one writer, committed only when it wrote something (a refusal changes nothing).</summary>
    private Task<GroupChangeResult> InGroupTransactionAsync(Func<SqliteTransaction, Task<GroupChangeResult>> change, CancellationToken cancellationToken) =>
        InWriterTransactionAsync(change, static result => result.Wrote, cancellationToken);

    /// <summary>Runs <paramref name="work"/> in a transaction on the one writer, and commits it when <paramref name="commit"/> says so.</summary>
    private async Task<T> InWriterTransactionAsync<T>(Func<SqliteTransaction, Task<T>> work, Func<T, bool> commit, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            T result = await work(transaction).ConfigureAwait(false);
            if (commit(result))
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private SqliteCommand Command(SqliteTransaction transaction, string sql)
    {
        SqliteCommand command = _writer.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private async Task<(StoredGroup? Group, GroupChangeResult? Refusal)> LoadForAdminAsync(SqliteTransaction transaction, string name, string actor,
        CancellationToken cancellationToken)
    {
        StoredGroup? group = await LoadGroupAsync(transaction, name, cancellationToken).ConfigureAwait(false);
        if (group is null)
        {
            return (null, GroupChangeResult.Refused(GroupOutcome.UnknownGroup));
        }
        if (!group.Members.Contains(actor, StringComparer.Ordinal))
        {
            return (null, GroupChangeResult.Refused(GroupOutcome.NotAMember, actor));
        }
        if (!group.Admins.Contains(actor, StringComparer.Ordinal))
        {
            return (null, GroupChangeResult.Refused(GroupOutcome.NotAdmin, actor));
        }
        return (group, null);
    }

    /// <summary>
    /// <paramref name="users"/> without an account, or <paramref name="joining"/> already in as many groups as one may
    /// be in: the refusal, else null. (An invitation takes no place in the group bound.)
    /// </summary>
    private async Task<GroupChangeResult?> RefuseUsersAsync(SqliteTransaction transaction, string[] users, string[] joining, GroupBounds bounds,
        CancellationToken cancellationToken)
    {
        HashSet<string> known = new(StringComparer.Ordinal);
        Dictionary<string, int> groups = new(StringComparer.Ordinal);
        await using SqliteCommand command = Command(transaction, "SELECT username FROM accounts WHERE username = $u");
        SqliteParameter u = command.Parameters.Add("$u", SqliteType.Text);
        await using SqliteCommand count = Command(transaction, "SELECT count(*) FROM group_members WHERE username = $u");
        SqliteParameter cu = count.Parameters.Add("$u", SqliteType.Text);
        foreach (string user in users)
        {
            u.Value = user;
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
            {
                known.Add(user);
            }
            cu.Value = user;
            groups[user] = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }
        string[] unknown = [.. users.Where(x => !known.Contains(x))];
        if (unknown.Length > 0)
        {
            return GroupChangeResult.Refused(GroupOutcome.UnknownUsers, unknown);
        }
        string[] full = [.. joining.Where(x => groups[x] >= bounds.MaxGroupsPerUser)];
        return full.Length > 0 ? GroupChangeResult.Refused(GroupOutcome.TooManyGroups, full) : null;
    }

    private async Task InsertMembersAsync(SqliteTransaction transaction, string name, string[] users, string? admin, long now, CancellationToken cancellationToken)
    {
        await using SqliteCommand insert = Command(transaction, "INSERT INTO group_members (group_name, username, is_admin, joined_at) VALUES ($n, $u, $a, $j)");
        insert.Parameters.AddWithValue("$n", name);
        insert.Parameters.AddWithValue("$j", now);
        SqliteParameter u = insert.Parameters.Add("$u", SqliteType.Text);
        SqliteParameter a = insert.Parameters.Add("$a", SqliteType.Integer);
        foreach (string user in users)
        {
            u.Value = user;
            a.Value = user == admin ? 1 : 0;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<GroupChangeResult> DeleteMembersAsync(SqliteTransaction transaction, string name, string[] users, CancellationToken cancellationToken)
    {
        await using (SqliteCommand delete = Command(transaction, "DELETE FROM group_members WHERE group_name = $n AND username = $u"))
        {
            delete.Parameters.AddWithValue("$n", name);
            SqliteParameter u = delete.Parameters.Add("$u", SqliteType.Text);
            foreach (string user in users)
            {
                u.Value = user;
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        // A group keeps an admin while it has members: the longest-standing member takes over.
        await using (SqliteCommand promote = Command(transaction, """
            UPDATE group_members SET is_admin = 1 WHERE group_name = $n AND username = (
                SELECT username FROM group_members WHERE group_name = $n ORDER BY joined_at, username LIMIT 1)
            AND NOT EXISTS (SELECT 1 FROM group_members WHERE group_name = $n AND is_admin = 1)
            """))
        {
            promote.Parameters.AddWithValue("$n", name);
            await promote.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        GroupChangeResult result = await BumpAsync(transaction, name, users, cancellationToken).ConfigureAwait(false);
        if (result.Group!.Members.Count == 0)
        {
            await using SqliteCommand drop = Command(transaction, "DELETE FROM chat_groups WHERE name = $n");
            drop.Parameters.AddWithValue("$n", name);
            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    private async Task<GroupChangeResult> BumpAsync(SqliteTransaction transaction, string name, string[] subjects, CancellationToken cancellationToken)
    {
        await using (SqliteCommand bump = Command(transaction, "UPDATE chat_groups SET version = version + 1 WHERE name = $n"))
        {
            bump.Parameters.AddWithValue("$n", name);
            await bump.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        StoredGroup group = (await LoadGroupAsync(transaction, name, cancellationToken).ConfigureAwait(false))!;
        return new GroupChangeResult(GroupOutcome.Changed, group, subjects);
    }

    private async Task<(string GroupId, long Version, long CreatedAt)?> ReadGroupRowAsync(SqliteTransaction transaction, string name, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = Command(transaction, "SELECT group_id, version, created_at FROM chat_groups WHERE name = $n");
        command.Parameters.AddWithValue("$n", name);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)) : null;
    }

    private async Task<StoredGroup?> LoadGroupAsync(SqliteTransaction transaction, string name, CancellationToken cancellationToken)
    {
        if (await ReadGroupRowAsync(transaction, name, cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }
        List<string> members = [];
        List<string> admins = [];
        await using SqliteCommand command = Command(transaction, "SELECT username, is_admin FROM group_members WHERE group_name = $n ORDER BY username");
        command.Parameters.AddWithValue("$n", name);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            members.Add(reader.GetString(0));
            if (reader.GetInt64(1) != 0)
            {
                admins.Add(reader.GetString(0));
            }
        }
        // SQLite's ORDER BY on TEXT is bytewise, as ordinal sorting is for ASCII names.
        return new StoredGroup(name, row.GroupId, row.Version, members, admins, row.CreatedAt);
    }
}
