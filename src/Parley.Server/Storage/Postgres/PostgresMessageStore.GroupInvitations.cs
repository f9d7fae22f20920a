// Consent before a group add in PostgreSQL (PROTOCOL.md §11.7, docs/decisions/0016), as
// SqliteMessageStore.GroupInvitations: a user named by a create or an add who has not allowed the
// actor gets an invitation row, not a membership, and each change keeps the invitation bounds in
// its own transaction by dropping the oldest rows. Several nodes write at once, so the locks of
// PostgresMessageStore.Groups cover these rows too, in the same order (group row, then accounts
// rows by name):
// - a user's invitations and allowed set are trimmed only under that user's accounts row lock
//   (a create or an add locks every user it names; accepting and allowing lock the user), so two
//   nodes inviting bob at once trim one after the other and neither leaves more than the bounds;
// - invitations to one group are made and taken up only under its group row lock (creating it:
//   its new name's index entry), so an add sees who is already invited there;
// - declining and disallowing only delete, and take no other lock: fewer rows only make a check
//   stricter (accepting locks the invitation's row, so a decline and an accept never both succeed).
using Npgsql;
using NpgsqlTypes;

namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore
{
    private static Task CreateInvitationsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS group_invitations (
                group_name  text COLLATE "C" NOT NULL REFERENCES chat_groups (name) ON DELETE CASCADE,
                group_id    text NOT NULL,
                username    text COLLATE "C" NOT NULL,
                invited_by  text COLLATE "C" NOT NULL,
                invited_at  bigint NOT NULL,
                PRIMARY KEY (group_name, username));
            CREATE INDEX IF NOT EXISTS group_invitations_by_user ON group_invitations (username, invited_at);
            CREATE TABLE IF NOT EXISTS group_adds_allowed (
                username    text COLLATE "C" NOT NULL,
                allowed     text COLLATE "C" NOT NULL,
                allowed_at  bigint NOT NULL,
                PRIMARY KEY (username, allowed));
            """, cancellationToken);

    /// <summary>
    /// Splits <paramref name="named"/> (not yet members, their accounts locked) into those who join at once (the actor,
    /// and users who allow it; everyone without invitation rules) and those to invite. Users already invited to this group
    /// are in neither: naming them again changes nothing and tells them nothing.
    /// </summary>
    private static async Task<(string[] Joining, string[] Invited)> SplitByConsentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string name, string actor, string[] named, long now, GroupBounds bounds, CancellationToken cancellationToken)
    {
        if (bounds.Invitations is not { } rules || named.Length == 0)
        {
            return (named, []);
        }
        Dictionary<string, (bool Allows, bool Pending)> consent = new(StringComparer.Ordinal);
        await using (NpgsqlCommand command = new("""
            SELECT u, EXISTS (SELECT 1 FROM group_adds_allowed WHERE username = u AND allowed = @a),
                EXISTS (SELECT 1 FROM group_invitations WHERE group_name = @n AND username = u AND invited_at >= @e)
            FROM unnest(@u) AS t(u)
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, named);
            command.Parameters.AddWithValue("a", actor);
            command.Parameters.AddWithValue("n", name);
            command.Parameters.AddWithValue("e", rules.ExpiredBefore(now));
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                consent[reader.GetString(0)] = (reader.GetBoolean(1), reader.GetBoolean(2));
            }
        }
        string[] joining = [.. named.Where(u => u == actor || consent[u].Allows)];
        string[] invited = [.. named.Where(u => u != actor && !consent[u].Allows && !consent[u].Pending)];
        return (joining, invited);
    }

    /// <summary>
    /// Invites <paramref name="users"/> (their accounts locked) to <paramref name="name"/>, then keeps each one's bounds by
    /// dropping its oldest invitations.
    /// </summary>
    private static async Task InviteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string groupId, string actor,
        string[] users, long now, GroupBounds bounds, CancellationToken cancellationToken)
    {
        if (users.Length == 0 || bounds.Invitations is not { } rules)
        {
            return;
        }
        // An expired invitation to this group is not pending: it is renewed in place.
        await using (NpgsqlCommand insert = new("""
            INSERT INTO group_invitations (group_name, group_id, username, invited_by, invited_at) SELECT @n, @g, u, @a, @t FROM unnest(@u) AS t(u)
            ON CONFLICT (group_name, username) DO UPDATE SET group_id = EXCLUDED.group_id, invited_by = EXCLUDED.invited_by, invited_at = EXCLUDED.invited_at
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("n", name);
            insert.Parameters.AddWithValue("g", groupId);
            insert.Parameters.AddWithValue("a", actor);
            insert.Parameters.AddWithValue("t", now);
            insert.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // Newest first; the same moment goes by group name (bytewise), so every store drops the same rows.
        await using NpgsqlCommand trim = new("""
            DELETE FROM group_invitations i USING (
                SELECT group_name, username, invited_at, invited_by,
                    row_number() OVER (PARTITION BY username ORDER BY invited_at DESC, group_name DESC) AS nth,
                    row_number() OVER (PARTITION BY username, invited_by ORDER BY invited_at DESC, group_name DESC) AS nth_by_inviter
                FROM group_invitations WHERE username = ANY(@u)) r
            WHERE i.group_name = r.group_name AND i.username = r.username
                AND (r.invited_at < @e OR r.nth > @max OR (r.invited_by = @a AND r.nth_by_inviter > @per))
            """, connection, transaction);
        trim.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
        trim.Parameters.AddWithValue("e", rules.ExpiredBefore(now));
        trim.Parameters.AddWithValue("a", actor);
        trim.Parameters.AddWithValue("max", (long)rules.MaxPerUser);
        trim.Parameters.AddWithValue("per", (long)rules.MaxPerInviter);
        await trim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Those of <paramref name="users"/> who hold an invitation to <paramref name="name"/>, live or expired (an admin may
    /// withdraw either), sorted. The group's row is locked by the caller, so an accept of one of them waits for this change.
    /// </summary>
    private static async Task<string[]> InvitedAmongAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string[] users,
        CancellationToken cancellationToken)
    {
        await using NpgsqlCommand find = new("""
            SELECT username FROM group_invitations WHERE group_name = @n AND username = ANY(@u) ORDER BY username COLLATE "C" FOR UPDATE
            """, connection, transaction);
        find.Parameters.AddWithValue("n", name);
        find.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
        List<string> invited = [];
        await using NpgsqlDataReader reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            invited.Add(reader.GetString(0));
        }
        return [.. invited];
    }

    /// <summary>A user who joins a group by any road has no invitation to it left.</summary>
    private static async Task ForgetInvitationsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string[] users,
        CancellationToken cancellationToken)
    {
        await using NpgsqlCommand delete = new("DELETE FROM group_invitations WHERE group_name = @n AND username = ANY(@u)", connection, transaction);
        delete.Parameters.AddWithValue("n", name);
        delete.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
        await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<GroupChangeResult> AcceptInvitationAsync(string name, string user, long now, GroupBounds bounds, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            InvitationRules rules = bounds.Invitations ?? InvitationRules.Default;
            // Locked as an add locks, before anything is read: the group's row, then the user's accounts row (which also
            // keeps another node's invitation from trimming this one away between the check and the join).
            StoredGroup? group = await LoadGroupAsync(connection, transaction, name, forUpdate: true, cancellationToken).ConfigureAwait(false);
            if (group is null)
            {
                return GroupChangeResult.Refused(GroupOutcome.NotInvited, user);
            }
            HashSet<string> known = await LockAccountsAsync(connection, transaction, [user], cancellationToken).ConfigureAwait(false);
            string? inviter;
            // The invitation must be to this group, not to an older one of the same name; its row locked, so a decline
            // on another node waits and then finds nothing, rather than both succeeding.
            await using (NpgsqlCommand find = new("""
                SELECT invited_by FROM group_invitations WHERE group_name = @n AND group_id = @g AND username = @u AND invited_at >= @e FOR UPDATE
                """, connection, transaction))
            {
                find.Parameters.AddWithValue("n", name);
                find.Parameters.AddWithValue("g", group.GroupId);
                find.Parameters.AddWithValue("u", user);
                find.Parameters.AddWithValue("e", rules.ExpiredBefore(now));
                inviter = await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            }
            if (inviter is null)
            {
                return GroupChangeResult.Refused(GroupOutcome.NotInvited, user);
            }
            if (group.Members.Count + 1 > bounds.MaxMembers)
            {
                return GroupChangeResult.Refused(GroupOutcome.GroupFull);
            }
            if (await RefuseUsersAsync(connection, transaction, [user], known, [user], bounds, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            await ForgetInvitationsAsync(connection, transaction, name, [user], cancellationToken).ConfigureAwait(false);
            await InsertMembersAsync(connection, transaction, name, [user], admin: null, now, cancellationToken).ConfigureAwait(false);
            return await BumpAsync(connection, transaction, name, [user], cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> DeclineInvitationAsync(string name, string user, long now, InvitationRules rules, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand delete = new("DELETE FROM group_invitations WHERE group_name = @n AND username = @u AND invited_at >= @e", connection);
            delete.Parameters.AddWithValue("n", name);
            delete.Parameters.AddWithValue("u", user);
            delete.Parameters.AddWithValue("e", rules.ExpiredBefore(now));
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken);

    public Task<IReadOnlyList<GroupInvitationRow>> InvitationsOfAsync(string user, long now, InvitationRules rules, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<GroupInvitationRow>>(async connection =>
        {
            await using NpgsqlCommand command = new("""
                SELECT group_name, group_id, invited_by, invited_at FROM group_invitations
                WHERE username = @u AND invited_at >= @e ORDER BY group_name LIMIT @max
                """, connection);
            command.Parameters.AddWithValue("u", user);
            command.Parameters.AddWithValue("e", rules.ExpiredBefore(now));
            command.Parameters.AddWithValue("max", (long)rules.MaxPerUser);
            List<GroupInvitationRow> rows = [];
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new GroupInvitationRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
            }
            return rows;
        }, cancellationToken);

    public Task<GroupOutcome> SetAddsAllowedAsync(string user, string other, bool allowed, long now, InvitationRules rules, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            if (!allowed)
            {
                await using NpgsqlCommand delete = new("DELETE FROM group_adds_allowed WHERE username = @u AND allowed = @a", connection, transaction);
                delete.Parameters.AddWithValue("u", user);
                delete.Parameters.AddWithValue("a", other);
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return GroupOutcome.Changed;
            }
            // The user's row for the trim below. The other's is only read (FOR KEY SHARE keeps it from going away): allowing
            // someone must not hold their account row against their own logins and key uploads.
            await LockAccountsAsync(connection, transaction, [user], cancellationToken).ConfigureAwait(false);
            await using (NpgsqlCommand exists = new("SELECT 1 FROM accounts WHERE username = @o FOR KEY SHARE", connection, transaction))
            {
                exists.Parameters.AddWithValue("o", other);
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    return GroupOutcome.UnknownUsers;
                }
            }
            await AllowAsync(connection, transaction, user, other, now, rules, cancellationToken).ConfigureAwait(false);
            return GroupOutcome.Changed;
        }, cancellationToken);

    /// <summary><paramref name="user"/> (its accounts row locked) allows <paramref name="other"/>, keeping at most the newest MaxAllowed.</summary>
    private static async Task AllowAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string user, string other, long now, InvitationRules rules,
        CancellationToken cancellationToken)
    {
        await using (NpgsqlCommand upsert = new("""
            INSERT INTO group_adds_allowed (username, allowed, allowed_at) VALUES (@u, @a, @t)
            ON CONFLICT (username, allowed) DO UPDATE SET allowed_at = greatest(group_adds_allowed.allowed_at, EXCLUDED.allowed_at)
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue("u", user);
            upsert.Parameters.AddWithValue("a", other);
            upsert.Parameters.AddWithValue("t", now);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using NpgsqlCommand trim = new("""
            DELETE FROM group_adds_allowed WHERE username = @u AND allowed NOT IN (
                SELECT allowed FROM group_adds_allowed WHERE username = @u ORDER BY allowed_at DESC, allowed DESC LIMIT @max)
            """, connection, transaction);
        trim.Parameters.AddWithValue("u", user);
        trim.Parameters.AddWithValue("max", (long)rules.MaxAllowed);
        await trim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> AddsAllowedByAsync(string user, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<string>>(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT allowed FROM group_adds_allowed WHERE username = @u ORDER BY allowed", connection);
            command.Parameters.AddWithValue("u", user);
            List<string> names = [];
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                names.Add(reader.GetString(0));
            }
            return names;
        }, cancellationToken);

    public Task<IReadOnlySet<string>> AllowingAsync(string actor, IReadOnlyCollection<string> users, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlySet<string>>(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT username FROM group_adds_allowed WHERE allowed = @a AND username = ANY(@u)", connection);
            command.Parameters.AddWithValue("a", actor);
            command.Parameters.AddWithValue("u", users.ToArray());
            HashSet<string> allowing = new(StringComparer.Ordinal);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                allowing.Add(reader.GetString(0));
            }
            return allowing;
        }, cancellationToken);
}
