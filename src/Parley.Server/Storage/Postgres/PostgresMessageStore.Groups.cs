// Groups in PostgreSQL (IGroupStore), as SqliteMessageStore.Groups: one row per group, one per
// member. SQLite serialises every change on its one writer; here several nodes change groups at
// once, so each change is one transaction (RunAsync) that takes its locks before it reads what it
// checks, and checks everything before it writes (a refusal writes nothing):
// - the group's row, FOR UPDATE, before its members are read: two changes of one group run one
//   after the other, so each adds one to the version the other left, and none shares a version.
// - for the per-user bounds, the accounts rows of every user a change names, added or invited
//   (FOR NO KEY UPDATE, in name order, the lock device tokens and prekeys already take): two
//   nodes adding bob to two different groups at once count his groups one after the other, and
//   two nodes inviting him trim his invitations one after the other, so neither overshoots a
//   bound. Row locks rather than advisory locks because the rows exist for every user that may
//   join (an unknown user is refused) and the lock also proves the account is there. Removing
//   and leaving take no user locks: a count that drops under a check only makes it stricter.
// Lock order is group row, then user rows by name (creating a group: user rows, then the new
// name's index entry), so two changes cannot wait on each other in a cycle; a deadlock PostgreSQL
// still reports is retried by RunAsync. Names are compared and sorted bytewise (COLLATE "C"), as
// SQLite's BINARY does and StoredGroup's ordinal order needs, whatever the database's locale.
using Npgsql;
using NpgsqlTypes;

namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore : IGroupStore, IGroupOrderLock
{
    /// <summary>
    /// A session advisory lock on the group's name (hashed to 64 bits: a collision only makes two
    /// groups wait for each other), on a pooled connection held until it is released. A node takes
    /// at most one per stripe of its own group lock, so the connections it holds are bounded.
    /// </summary>
    public async Task<IAsyncDisposable> LockGroupAsync(string group, CancellationToken cancellationToken)
    {
        try
        {
            NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using NpgsqlCommand command = new("SELECT pg_advisory_lock(hashtextextended('parley-group:' || @n, 0))", connection);
                command.Parameters.AddWithValue("n", group);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return new GroupLock(connection, group);
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    private sealed class GroupLock(NpgsqlConnection connection, string group) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using NpgsqlCommand command = new("SELECT pg_advisory_unlock(hashtextextended('parley-group:' || @n, 0))", connection);
                command.Parameters.AddWithValue("n", group);
                await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnavailable(e))
            {
                // The session is gone, and its locks went with it.
            }
            finally
            {
                // Back to the pool, which resets the session (DISCARD ALL) and so drops any lock still held.
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task CreateGroupsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS chat_groups (
                name        text COLLATE "C" PRIMARY KEY,
                group_id    text NOT NULL UNIQUE,
                version     bigint NOT NULL,
                created_at  bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS group_members (
                group_name  text COLLATE "C" NOT NULL REFERENCES chat_groups (name) ON DELETE CASCADE,
                username    text COLLATE "C" NOT NULL,
                is_admin    boolean NOT NULL,
                joined_at   bigint NOT NULL,
                PRIMARY KEY (group_name, username));
            CREATE INDEX IF NOT EXISTS group_members_by_user ON group_members (username);
            """, cancellationToken).ConfigureAwait(false);
        await CreateInvitationsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
    }

    public Task<GroupChangeResult> CreateGroupAsync(string name, string groupId, string creator, IReadOnlyCollection<string> members, long now,
        GroupBounds bounds, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            if (await ReadGroupRowAsync(connection, transaction, name, forUpdate: false, cancellationToken).ConfigureAwait(false) is not null)
            {
                return GroupChangeResult.Refused(GroupOutcome.NameTaken);
            }
            string[] named = [.. members.Append(creator).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            HashSet<string> known = await LockAccountsAsync(connection, transaction, named, cancellationToken).ConfigureAwait(false);
            (string[] all, string[] invited) = await SplitByConsentAsync(connection, transaction, name, creator, named, now, bounds, cancellationToken).ConfigureAwait(false);
            if (all.Length > bounds.MaxMembers)
            {
                return GroupChangeResult.Refused(GroupOutcome.GroupFull);
            }
            if (await RefuseUsersAsync(connection, transaction, named, known, all, bounds, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            // Another node may have created the name since the read above: its insert commits first and this one does nothing.
            await using (NpgsqlCommand insert = new("""
                INSERT INTO chat_groups (name, group_id, version, created_at) VALUES (@n, @g, 1, @c) ON CONFLICT (name) DO NOTHING
                """, connection, transaction))
            {
                insert.Parameters.AddWithValue("n", name);
                insert.Parameters.AddWithValue("g", groupId);
                insert.Parameters.AddWithValue("c", now);
                if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return GroupChangeResult.Refused(GroupOutcome.NameTaken);
                }
            }
            await InsertMembersAsync(connection, transaction, name, all, creator, now, cancellationToken).ConfigureAwait(false);
            await InviteAsync(connection, transaction, name, groupId, creator, invited, now, bounds, cancellationToken).ConfigureAwait(false);
            StoredGroup group = (await LoadGroupAsync(connection, transaction, name, forUpdate: false, cancellationToken).ConfigureAwait(false))!;
            return new GroupChangeResult(GroupOutcome.Changed, group, all) { Invited = invited };
        }, cancellationToken);

    public Task<GroupChangeResult> AddGroupMembersAsync(string name, string actor, IReadOnlyCollection<string> members, long now, GroupBounds bounds,
        CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            (StoredGroup? group, GroupChangeResult? refusal) = await LoadForAdminAsync(connection, transaction, name, actor, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }
            string[] named = [.. members.Distinct(StringComparer.Ordinal).Where(m => !group!.Members.Contains(m, StringComparer.Ordinal)).Order(StringComparer.Ordinal)];
            HashSet<string> known = await LockAccountsAsync(connection, transaction, named, cancellationToken).ConfigureAwait(false);
            (string[] added, string[] invited) = await SplitByConsentAsync(connection, transaction, name, actor, named, now, bounds, cancellationToken).ConfigureAwait(false);
            // Only those who join take a place: an add that only invites never meets group_full.
            if (added.Length > 0 && group!.Members.Count + added.Length > bounds.MaxMembers)
            {
                return GroupChangeResult.Refused(GroupOutcome.GroupFull);
            }
            if (await RefuseUsersAsync(connection, transaction, named, known, added, bounds, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            await InviteAsync(connection, transaction, name, group!.GroupId, actor, invited, now, bounds, cancellationToken).ConfigureAwait(false);
            if (added.Length == 0)
            {
                return new GroupChangeResult(GroupOutcome.Unchanged, group, []) { Invited = invited };
            }
            await ForgetInvitationsAsync(connection, transaction, name, added, cancellationToken).ConfigureAwait(false);
            await InsertMembersAsync(connection, transaction, name, added, admin: null, now, cancellationToken).ConfigureAwait(false);
            return await BumpAsync(connection, transaction, name, added, cancellationToken).ConfigureAwait(false) with { Invited = invited };
        }, cancellationToken);

    public Task<GroupChangeResult> RemoveGroupMembersAsync(string name, string actor, IReadOnlyCollection<string> members, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            (StoredGroup? group, GroupChangeResult? refusal) = await LoadForAdminAsync(connection, transaction, name, actor, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }
            string[] named = [.. members.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            string[] removed = [.. named.Where(m => group!.Members.Contains(m, StringComparer.Ordinal))];
            string[] invited = await InvitedAmongAsync(connection, transaction, name, [.. named.Except(removed, StringComparer.Ordinal)], cancellationToken).ConfigureAwait(false);
            string[] strangers = [.. named.Except(removed, StringComparer.Ordinal).Except(invited, StringComparer.Ordinal)];
            if (strangers.Length > 0)
            {
                return GroupChangeResult.Refused(GroupOutcome.NotAMember, strangers);
            }
            await ForgetInvitationsAsync(connection, transaction, name, invited, cancellationToken).ConfigureAwait(false);
            return removed.Length == 0 ? new GroupChangeResult(GroupOutcome.Unchanged, group, []) { Withdrawn = invited }
                : await DeleteMembersAsync(connection, transaction, name, removed, cancellationToken).ConfigureAwait(false) with { Withdrawn = invited };
        }, cancellationToken);

    public Task<GroupChangeResult> LeaveGroupAsync(string name, string user, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            StoredGroup? group = await LoadGroupAsync(connection, transaction, name, forUpdate: true, cancellationToken).ConfigureAwait(false);
            if (group is null)
            {
                return GroupChangeResult.Refused(GroupOutcome.UnknownGroup);
            }
            if (!group.Members.Contains(user, StringComparer.Ordinal))
            {
                return GroupChangeResult.Refused(GroupOutcome.NotAMember, user);
            }
            return await DeleteMembersAsync(connection, transaction, name, [user], cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<StoredGroup?> FindGroupAsync(string name, CancellationToken cancellationToken) =>
        // One statement, so the version and the members come from one snapshot: the answer is what one change committed.
        ReadAsync(connection => LoadGroupAsync(connection, null, name, forUpdate: false, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<GroupSummaryRow>> GroupsOfAsync(string user, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<GroupSummaryRow>>(async connection =>
        {
            await using NpgsqlCommand command = new("""
                SELECT g.name, g.group_id, g.version, (SELECT count(*) FROM group_members c WHERE c.group_name = g.name)
                FROM group_members m JOIN chat_groups g ON g.name = m.group_name WHERE m.username = @u ORDER BY g.name
                """, connection);
            command.Parameters.AddWithValue("u", user);
            List<GroupSummaryRow> groups = [];
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                groups.Add(new GroupSummaryRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), checked((int)reader.GetInt64(3))));
            }
            return groups;
        }, cancellationToken);

    /// <summary>The group locked for this change, if <paramref name="actor"/> is one of its admins; else the refusal.</summary>
    private static async Task<(StoredGroup? Group, GroupChangeResult? Refusal)> LoadForAdminAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string name, string actor, CancellationToken cancellationToken)
    {
        StoredGroup? group = await LoadGroupAsync(connection, transaction, name, forUpdate: true, cancellationToken).ConfigureAwait(false);
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
    /// Locks the accounts rows of <paramref name="users"/> until the transaction ends, in name order, so every change
    /// takes its users' locks in one order; the users that have an account.
    /// </summary>
    private static async Task<HashSet<string>> LockAccountsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] users,
        CancellationToken cancellationToken)
    {
        HashSet<string> known = new(StringComparer.Ordinal);
        if (users.Length == 0)
        {
            return known;
        }
        await using NpgsqlCommand lockAccounts = new("""
            SELECT username FROM accounts WHERE username = ANY(@u) ORDER BY username COLLATE "C" FOR NO KEY UPDATE
            """, connection, transaction);
        lockAccounts.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
        await using NpgsqlDataReader reader = await lockAccounts.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            known.Add(reader.GetString(0));
        }
        return known;
    }

    /// <summary>
    /// <paramref name="users"/> not in <paramref name="known"/> (<see cref="LockAccountsAsync"/>'s answer, the locks still
    /// held), or <paramref name="joining"/> already in as many groups as one may be in: the refusal, else null.
    /// (An invitation takes no place in the group bound.)
    /// </summary>
    private static async Task<GroupChangeResult?> RefuseUsersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] users,
        HashSet<string> known, string[] joining, GroupBounds bounds, CancellationToken cancellationToken)
    {
        string[] unknown = [.. users.Where(x => !known.Contains(x))];
        if (unknown.Length > 0)
        {
            return GroupChangeResult.Refused(GroupOutcome.UnknownUsers, unknown);
        }
        if (joining.Length == 0)
        {
            return null;
        }
        // Counted after the locks: a change that added one of these users elsewhere has committed by now, and is seen.
        Dictionary<string, long> groups = new(StringComparer.Ordinal);
        await using (NpgsqlCommand count = new("SELECT username, count(*) FROM group_members WHERE username = ANY(@u) GROUP BY username", connection, transaction))
        {
            count.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, joining);
            await using NpgsqlDataReader reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                groups[reader.GetString(0)] = reader.GetInt64(1);
            }
        }
        string[] full = [.. joining.Where(x => groups.GetValueOrDefault(x) >= bounds.MaxGroupsPerUser)];
        return full.Length > 0 ? GroupChangeResult.Refused(GroupOutcome.TooManyGroups, full) : null;
    }

    private static async Task InsertMembersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string[] users, string? admin, long now,
        CancellationToken cancellationToken)
    {
        await using NpgsqlCommand insert = new("""
            INSERT INTO group_members (group_name, username, is_admin, joined_at) SELECT @n, u, u = @a, @j FROM unnest(@u) AS t(u)
            """, connection, transaction);
        insert.Parameters.AddWithValue("n", name);
        insert.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
        // No admin: a name no user has (names are never empty), so the comparison is false, never null.
        insert.Parameters.AddWithValue("a", admin ?? "");
        insert.Parameters.AddWithValue("j", now);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<GroupChangeResult> DeleteMembersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string[] users,
        CancellationToken cancellationToken)
    {
        await using (NpgsqlCommand delete = new("DELETE FROM group_members WHERE group_name = @n AND username = ANY(@u)", connection, transaction))
        {
            delete.Parameters.AddWithValue("n", name);
            delete.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // A group keeps an admin while it has members: the longest-standing member takes over (ties: the smallest name).
        await using (NpgsqlCommand promote = new("""
            UPDATE group_members SET is_admin = true WHERE group_name = @n AND username = (
                SELECT username FROM group_members WHERE group_name = @n ORDER BY joined_at, username LIMIT 1)
            AND NOT EXISTS (SELECT 1 FROM group_members WHERE group_name = @n AND is_admin)
            """, connection, transaction))
        {
            promote.Parameters.AddWithValue("n", name);
            await promote.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        GroupChangeResult result = await BumpAsync(connection, transaction, name, users, cancellationToken).ConfigureAwait(false);
        if (result.Group!.Members.Count == 0)
        {
            // The name is free again; the id went with the row and is never given again (each creation brings a new random one).
            await using NpgsqlCommand drop = new("DELETE FROM chat_groups WHERE name = @n", connection, transaction);
            drop.Parameters.AddWithValue("n", name);
            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    private static async Task<GroupChangeResult> BumpAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string[] subjects,
        CancellationToken cancellationToken)
    {
        await using (NpgsqlCommand bump = new("UPDATE chat_groups SET version = version + 1 WHERE name = @n", connection, transaction))
        {
            bump.Parameters.AddWithValue("n", name);
            await bump.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        StoredGroup group = (await LoadGroupAsync(connection, transaction, name, forUpdate: false, cancellationToken).ConfigureAwait(false))!;
        return new GroupChangeResult(GroupOutcome.Changed, group, subjects);
    }

    private static async Task<(string GroupId, long Version, long CreatedAt)?> ReadGroupRowAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        string name, bool forUpdate, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = new(
            "SELECT group_id, version, created_at FROM chat_groups WHERE name = @n" + (forUpdate ? " FOR UPDATE" : ""), connection, transaction);
        command.Parameters.AddWithValue("n", name);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)) : null;
    }

    /// <summary>
    /// The group and its members, or null. With <paramref name="forUpdate"/> the group's row is locked
    /// first (until the transaction ends), so the members read after it stay as read.
    /// </summary>
    private static async Task<StoredGroup?> LoadGroupAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string name, bool forUpdate,
        CancellationToken cancellationToken)
    {
        if (forUpdate && await ReadGroupRowAsync(connection, transaction, name, forUpdate: true, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }
        // The row and its members in one statement: one snapshot, even outside a transaction.
        await using NpgsqlCommand command = new("""
            SELECT g.group_id, g.version, g.created_at, m.username, m.is_admin
            FROM chat_groups g LEFT JOIN group_members m ON m.group_name = g.name WHERE g.name = @n ORDER BY m.username
            """, connection, transaction);
        command.Parameters.AddWithValue("n", name);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        (string GroupId, long Version, long CreatedAt)? row = null;
        List<string> members = [];
        List<string> admins = [];
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            row ??= (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2));
            if (reader.IsDBNull(3))
            {
                continue;
            }
            members.Add(reader.GetString(3));
            if (reader.GetBoolean(4))
            {
                admins.Add(reader.GetString(3));
            }
        }
        return row is { } r ? new StoredGroup(name, r.GroupId, r.Version, members, admins, r.CreatedAt) : null;
    }
}
