// Consent before a group add in SQLite (PROTOCOL.md §11.7, docs/decisions/0016): a user named by
// a create or an add who has not allowed the actor gets an invitation row, not a membership. Every
// write runs on the one writer, in the transaction of the change that made it, and keeps the
// invitation bounds there by dropping the oldest rows, so a flood pushes out only older invitations.
using Microsoft.Data.Sqlite;
using Parley.Server.Hosting;

namespace Parley.Server.Storage;

public sealed partial class SqliteMessageStore
{
    private static async Task CreateInvitationTablesAsync(SqliteConnection writer, CancellationToken cancellationToken)
    {
        await ExecuteAsync(writer, """
            CREATE TABLE IF NOT EXISTS group_invitations (
                group_name  TEXT NOT NULL REFERENCES chat_groups(name) ON DELETE CASCADE,
                group_id    TEXT NOT NULL,
                username    TEXT NOT NULL,
                invited_by  TEXT NOT NULL,
                invited_at  INTEGER NOT NULL,
                PRIMARY KEY (group_name, username));
            CREATE INDEX IF NOT EXISTS group_invitations_by_user ON group_invitations (username, invited_at);
            CREATE TABLE IF NOT EXISTS group_adds_allowed (
                username    TEXT NOT NULL,
                allowed     TEXT NOT NULL,
                allowed_at  INTEGER NOT NULL,
                PRIMARY KEY (username, allowed));
            """, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Splits <paramref name="named"/> (not yet members) into those who join at once (the actor, and users who allow it;
    /// everyone without invitation rules) and those to invite. Users already invited to this group are in neither:
    /// naming them again changes nothing and tells them nothing.
    /// </summary>
    private async Task<(string[] Joining, string[] Invited)> SplitByConsentAsync(SqliteTransaction transaction, string name, string actor, string[] named,
        long now, GroupBounds bounds, CancellationToken cancellationToken)
    {
        if (bounds.Invitations is not { } rules)
        {
            return (named, []);
        }
        await using SqliteCommand allows = Command(transaction, "SELECT 1 FROM group_adds_allowed WHERE username = $u AND allowed = $a");
        allows.Parameters.AddWithValue("$a", actor);
        SqliteParameter au = allows.Parameters.Add("$u", SqliteType.Text);
        await using SqliteCommand pending = Command(transaction, "SELECT 1 FROM group_invitations WHERE group_name = $n AND username = $u AND invited_at >= $e");
        pending.Parameters.AddWithValue("$n", name);
        pending.Parameters.AddWithValue("$e", rules.ExpiredBefore(now));
        SqliteParameter pu = pending.Parameters.Add("$u", SqliteType.Text);
        List<string> joining = [];
        List<string> invited = [];
        foreach (string user in named)
        {
            au.Value = user;
            pu.Value = user;
            if (user == actor || await allows.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
            {
                joining.Add(user);
            }
            else if (await pending.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                invited.Add(user);
            }
        }
        return ([.. joining], [.. invited]);
    }

    /// <summary>Invites <paramref name="users"/> to <paramref name="name"/>, then keeps each one's bounds by dropping its oldest invitations.</summary>
    private async Task InviteAsync(SqliteTransaction transaction, string name, string groupId, string actor, string[] users, long now, GroupBounds bounds,
        CancellationToken cancellationToken)
    {
        if (users.Length == 0 || bounds.Invitations is not { } rules)
        {
            return;
        }
        await using SqliteCommand insert = Command(transaction, """
            INSERT INTO group_invitations (group_name, group_id, username, invited_by, invited_at) VALUES ($n, $g, $u, $a, $t)
            ON CONFLICT (group_name, username) DO UPDATE SET group_id = excluded.group_id, invited_by = excluded.invited_by, invited_at = excluded.invited_at
            """);
        insert.Parameters.AddWithValue("$n", name);
        insert.Parameters.AddWithValue("$g", groupId);
        insert.Parameters.AddWithValue("$a", actor);
        insert.Parameters.AddWithValue("$t", now);
        SqliteParameter u = insert.Parameters.Add("$u", SqliteType.Text);
        // Newest first; the same moment goes by group name, so every store drops the same rows.
        await using SqliteCommand trim = Command(transaction, """
            DELETE FROM group_invitations WHERE username = $u AND (invited_at < $e
                OR rowid NOT IN (SELECT rowid FROM group_invitations WHERE username = $u ORDER BY invited_at DESC, group_name DESC LIMIT $max)
                OR (invited_by = $a AND rowid NOT IN (SELECT rowid FROM group_invitations WHERE username = $u AND invited_by = $a
                    ORDER BY invited_at DESC, group_name DESC LIMIT $per)))
            """);
        trim.Parameters.AddWithValue("$e", rules.ExpiredBefore(now));
        trim.Parameters.AddWithValue("$a", actor);
        trim.Parameters.AddWithValue("$max", rules.MaxPerUser);
        trim.Parameters.AddWithValue("$per", rules.MaxPerInviter);
        SqliteParameter tu = trim.Parameters.Add("$u", SqliteType.Text);
        foreach (string user in users)
        {
            u.Value = user;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            tu.Value = user;
            await trim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Those of <paramref name="users"/> who hold an invitation to <paramref name="name"/>, live or expired (an admin may withdraw either).</summary>
    private async Task<string[]> InvitedAmongAsync(SqliteTransaction transaction, string name, string[] users, CancellationToken cancellationToken)
    {
        await using SqliteCommand find = Command(transaction, "SELECT 1 FROM group_invitations WHERE group_name = $n AND username = $u");
        find.Parameters.AddWithValue("$n", name);
        SqliteParameter u = find.Parameters.Add("$u", SqliteType.Text);
        List<string> invited = [];
        foreach (string user in users)
        {
            u.Value = user;
            if (await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
            {
                invited.Add(user);
            }
        }
        return [.. invited];
    }

    /// <summary>A user who joins a group by any road has no invitation to it left.</summary>
    private async Task ForgetInvitationsAsync(SqliteTransaction transaction, string name, string[] users, CancellationToken cancellationToken)
    {
        await using SqliteCommand delete = Command(transaction, "DELETE FROM group_invitations WHERE group_name = $n AND username = $u");
        delete.Parameters.AddWithValue("$n", name);
        SqliteParameter u = delete.Parameters.Add("$u", SqliteType.Text);
        foreach (string user in users)
        {
            u.Value = user;
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<GroupChangeResult> AcceptInvitationAsync(string name, string user, long now, GroupBounds bounds, CancellationToken cancellationToken) =>
        InGroupTransactionAsync(async transaction =>
        {
            InvitationRules rules = bounds.Invitations ?? InvitationRules.Default;
            string? inviter;
            await using (SqliteCommand find = Command(transaction, """
                SELECT i.invited_by FROM group_invitations i JOIN chat_groups g ON g.name = i.group_name AND g.group_id = i.group_id
                WHERE i.group_name = $n AND i.username = $u AND i.invited_at >= $e
                """))
            {
                find.Parameters.AddWithValue("$n", name);
                find.Parameters.AddWithValue("$u", user);
                find.Parameters.AddWithValue("$e", rules.ExpiredBefore(now));
                inviter = await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            }
            StoredGroup? group = inviter is null ? null : await LoadGroupAsync(transaction, name, cancellationToken).ConfigureAwait(false);
            if (group is null)
            {
                return GroupChangeResult.Refused(GroupOutcome.NotInvited, user);
            }
            if (group.Members.Count + 1 > bounds.MaxMembers)
            {
                return GroupChangeResult.Refused(GroupOutcome.GroupFull);
            }
            if (await RefuseUsersAsync(transaction, [user], [user], bounds, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            await ForgetInvitationsAsync(transaction, name, [user], cancellationToken).ConfigureAwait(false);
            await InsertMembersAsync(transaction, name, [user], admin: null, now, cancellationToken).ConfigureAwait(false);
            return await BumpAsync(transaction, name, [user], cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> DeclineInvitationAsync(string name, string user, long now, InvitationRules rules, CancellationToken cancellationToken) =>
        InWriterTransactionAsync(async transaction =>
        {
            await using SqliteCommand delete = Command(transaction, "DELETE FROM group_invitations WHERE group_name = $n AND username = $u AND invited_at >= $e");
            delete.Parameters.AddWithValue("$n", name);
            delete.Parameters.AddWithValue("$u", user);
            delete.Parameters.AddWithValue("$e", rules.ExpiredBefore(now));
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, static declined => declined, cancellationToken);

    public async Task<IReadOnlyList<GroupInvitationRow>> InvitationsOfAsync(string user, long now, InvitationRules rules, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT group_name, group_id, invited_by, invited_at FROM group_invitations
            WHERE username = $u AND invited_at >= $e ORDER BY group_name LIMIT $max
            """;
        command.Parameters.AddWithValue("$u", user);
        command.Parameters.AddWithValue("$e", rules.ExpiredBefore(now));
        command.Parameters.AddWithValue("$max", rules.MaxPerUser);
        List<GroupInvitationRow> rows = [];
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new GroupInvitationRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }
        return rows;
    }

    public Task<GroupOutcome> SetAddsAllowedAsync(string user, string other, bool allowed, long now, InvitationRules rules, CancellationToken cancellationToken) =>
        InWriterTransactionAsync(async transaction =>
        {
            if (!allowed)
            {
                await using SqliteCommand delete = Command(transaction, "DELETE FROM group_adds_allowed WHERE username = $u AND allowed = $a");
                delete.Parameters.AddWithValue("$u", user);
                delete.Parameters.AddWithValue("$a", other);
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return GroupOutcome.Changed;
            }
            if (await RefuseUsersAsync(transaction, [other], [], default, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused.Outcome;
            }
            await AllowAsync(transaction, user, other, now, rules, cancellationToken).ConfigureAwait(false);
            return GroupOutcome.Changed;
        }, static outcome => outcome == GroupOutcome.Changed, cancellationToken);

    private async Task AllowAsync(SqliteTransaction transaction, string user, string other, long now, InvitationRules rules, CancellationToken cancellationToken)
    {
        await using (SqliteCommand upsert = Command(transaction, """
            INSERT INTO group_adds_allowed (username, allowed, allowed_at) VALUES ($u, $a, $t)
            ON CONFLICT (username, allowed) DO UPDATE SET allowed_at = max(allowed_at, excluded.allowed_at)
            """))
        {
            upsert.Parameters.AddWithValue("$u", user);
            upsert.Parameters.AddWithValue("$a", other);
            upsert.Parameters.AddWithValue("$t", now);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using SqliteCommand trim = Command(transaction, """
            DELETE FROM group_adds_allowed WHERE username = $u AND rowid NOT IN (
                SELECT rowid FROM group_adds_allowed WHERE username = $u ORDER BY allowed_at DESC, allowed DESC LIMIT $max)
            """);
        trim.Parameters.AddWithValue("$u", user);
        trim.Parameters.AddWithValue("$max", rules.MaxAllowed);
        await trim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlySet<string>> AllowingAsync(string actor, IReadOnlyCollection<string> users, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM group_adds_allowed WHERE username = $u AND allowed = $a";
        command.Parameters.AddWithValue("$a", actor);
        SqliteParameter u = command.Parameters.Add("$u", SqliteType.Text);
        HashSet<string> allowing = new(StringComparer.Ordinal);
        foreach (string user in users)
        {
            u.Value = user;
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
            {
                allowing.Add(user);
            }
        }
        return allowing;
    }

    public async Task<IReadOnlyList<string>> AddsAllowedByAsync(string user, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT allowed FROM group_adds_allowed WHERE username = $u ORDER BY allowed";
        command.Parameters.AddWithValue("$u", user);
        List<string> names = [];
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }
}
