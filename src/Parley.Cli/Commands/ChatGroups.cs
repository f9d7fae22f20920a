// parley chat's groups (PROTOCOL.md §11.7, §14): the `group` commands, `send #name text`, and the
// lines for what arrives: `14:05 [#team] bob: hi` for a message, a [STATUS] line for a change.
// Group names, user names and texts come from other people or the server: every one goes through
// the sanitiser before it reaches the terminal.
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.Messaging;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

/// <param name="receipts">Where a group message we send is remembered, so its members' receipts are shown (PROTOCOL.md §13.11).</param>
/// <param name="save">Saves the device's end-to-end state (pairwise sessions and groups) after a change.</param>
internal sealed class ChatGroups(E2eGroups groups, string user, ReceiptBook receipts, Action save)
{
    public const string Usage = "[ERROR] Usage: group create <name> <user>... | group add <name> <user>... | group remove <name> <user>... | group leave <name> | group members <name> | group list"
        + " | group accept <name> | group decline <name> | group allow <user> | group disallow <user>";

    /// <summary>Group names as Tab completes them after `send`: #name.</summary>
    public IEnumerable<string> CompletionNames() => groups.GroupNames().Select(g => "#" + g);

    /// <summary>Runs a `group …` command; the lines to print.</summary>
    public async Task<string> RunAsync(ChatClient client, string rest, CancellationToken cancellationToken)
    {
        try
        {
            return await RunCommandAsync(client, rest, cancellationToken);
        }
        finally
        {
            save();
        }
    }

    private async Task<string> RunCommandAsync(ChatClient client, string rest, CancellationToken cancellationToken)
    {
        string[] words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return Usage;
        }
        string verb = words[0].ToLowerInvariant();
        if (verb == "list")
        {
            return Overview(await client.GroupOverviewAsync(cancellationToken));
        }
        if (words.Length < 2)
        {
            return Usage;
        }
        string name = words[1].TrimStart('#');
        string[] users = words[2..];
        switch (verb)
        {
            case "create":
                GroupInfo created = await groups.CreateAsync(client, name, users, cancellationToken);
                return $"[STATUS] Group #{Clean(created.Group)} created: {Members(created)}" + InvitedLine(created);
            case "add" when users.Length > 0:
                GroupInfo added = await groups.AddAsync(client, name, users, cancellationToken);
                return $"[STATUS] #{Clean(added.Group)} now has {added.Members.Length} members: {Members(added)}" + InvitedLine(added);
            case "accept" when users.Length == 0:
                // By the invitation's id, so the group joined is the one the invitation named, and its sender can be named here.
                if (await InvitationToAsync(client, name, cancellationToken) is not { } invitation)
                {
                    return NoInvitation(name);
                }
                GroupInfo joined = await groups.AcceptAsync(client, invitation.Group, invitation.GroupId, cancellationToken);
                return $"[STATUS] You joined #{Clean(joined.Group)}: {Members(joined)} (invited by {invitation.InvitedBy}; "
                    + $"'group allow {invitation.InvitedBy}' lets them add you without asking)";
            case "decline" when users.Length == 0:
                if (await InvitationToAsync(client, name, cancellationToken) is not { } declined)
                {
                    return NoInvitation(name);
                }
                await client.DeclineGroupInvitationAsync(declined.Group, declined.GroupId, cancellationToken);
                return $"[STATUS] You declined the invitation to #{declined.Group} from {declined.InvitedBy}";
            case "allow" when users.Length == 0:
                GroupAllowResult allowed = await client.AllowGroupAddsAsync(words[1], allowed: true, cancellationToken);
                return $"[STATUS] {Clean(allowed.User)} can now add you to groups without asking ('group disallow {Clean(allowed.User)}' to undo)";
            case "disallow" when users.Length == 0:
                GroupAllowResult disallowed = await client.AllowGroupAddsAsync(words[1], allowed: false, cancellationToken);
                return $"[STATUS] {Clean(disallowed.User)} can only invite you to groups from now on";
            case "remove" when users.Length > 0:
                GroupInfo removed = await groups.RemoveAsync(client, name, users, cancellationToken);
                string withdrawn = removed.Withdrawn is { Length: > 0 } gone
                    ? Environment.NewLine + $"[STATUS] Withdrew the invitation of {string.Join(", ", gone.Select(u => Clean(u)))} to #{Clean(removed.Group)}" : "";
                return $"[STATUS] #{Clean(removed.Group)} now has {removed.Members.Length} members: {Members(removed)}{withdrawn}";
            case "leave":
                await groups.LeaveAsync(client, name, cancellationToken);
                return $"[STATUS] You left #{Clean(name)}";
            case "members":
                GroupInfo info = await groups.MembersAsync(client, name, cancellationToken);
                return $"[GROUP] #{Clean(info.Group)}: {Members(info)}";
            default:
                return Usage;
        }
    }

    /// <summary>
    /// At login: the groups this device did not know yet (made or joined before it existed) are learned,
    /// so their messages are read, or their keys asked for, instead of refused as an unknown group's.
    /// The line to print, or null when there was nothing new (or the server could not be asked now).
    /// </summary>
    public async Task<string?> LearnAtLoginAsync(ChatClient client, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> learned;
        try
        {
            learned = await groups.LearnAtLoginAsync(client, cancellationToken);
        }
        catch (Exception e) when (e is ChatException or ChatConnectionException or Parley.Protocol.ParleyProtocolException or IOException or OperationCanceledException)
        {
            return null; // 'group members NAME' still teaches a group by hand
        }
        if (learned.Count == 0)
        {
            return null;
        }
        save();
        return $"[STATUS] This device now knows {string.Join(", ", learned.Select(g => "#" + g))} (joined before it was set up, or on another device)";
    }

    /// <summary>`send #name text`: one sender-key message for the server to fan out.</summary>
    public async Task<string> SendAsync(ChatClient client, string target, string text, CancellationToken cancellationToken)
    {
        string name = target.TrimStart('#');
        GroupSent sent;
        // Remembered before it leaves: a member's receipt can beat the send's own result.
        E2eMessageId id = E2eMessageId.New();
        receipts.SentToGroup(name, id);
        try
        {
            sent = await groups.SendTextAsync(client, name, text, cancellationToken, id, save);
        }
        finally
        {
            // The sender key moved on and the pairwise sessions that carried it too.
            save();
        }
        List<string> lines = [];
        if (sent.Unreachable.Count > 0)
        {
            lines.Add($"[STATUS] Not readable by {string.Join(", ", sent.Unreachable.Select(u => Clean(u)))} in #{Clean(sent.Group)}: no end-to-end keys, or a changed identity to trust first");
        }
        lines.Add($"[STATUS] Message sent to #{Clean(sent.Group)} ({sent.Recipients} member{(sent.Recipients == 1 ? "" : "s")})");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The line for a group row (null: nothing to show, such as our own message or a change we made here).</summary>
    public string? Show(ChatMessage message, string? ourDevice, out GroupEvent happened)
    {
        happened = groups.Receive(message, ourDevice);
        string from = Clean(happened.From);
        string group = happened.Group.Length == 0 ? "a group" : "#" + Clean(happened.Group);
        switch (happened.Kind)
        {
            case GroupEventKind.Message when happened.FileOffer is not null:
                return null; // a file offered to the group: the chat's file layer announces it
            case GroupEventKind.Message:
                string time = MessageTime.Prefix(happened.Timestamp, DateTimeOffset.Now, TimeZoneInfo.Local);
                return $"{time}[{group}] {from}: {UntrustedText.Sanitize(maxLength: int.MaxValue, value: happened.Text)}";
            case GroupEventKind.Changed when happened.From == user && happened.FromDevice == ourDevice:
                return null;
            case GroupEventKind.Changed when happened.Change!.Change == GroupChangeKinds.Invited:
                // E2eGroups let only canonical names through: safe to repeat inside a command hint.
                string plain = happened.Change.Group;
                return $"[GROUP] {from} invited you to #{plain}; 'group accept {plain}' to join or 'group decline {plain}'";
            case GroupEventKind.Changed:
                return "[STATUS] " + Describe(happened.Change!, group, from);
            case GroupEventKind.Failed when happened.KeyAsk == SenderKeyAsk.Asked:
                return $"[STATUS] A message in {group} from {from} could not be read here: this device has no key from {from}'s device yet "
                    + $"(it is new to the group, or lost its keys). Asking that device for it; what {from} sends once it answers can be read";
            case GroupEventKind.Failed when happened.KeyAsk == SenderKeyAsk.AskedBefore:
                return $"[STATUS] Another message in {group} from {from} could not be read here: still waiting for the key asked of that device";
            case GroupEventKind.Failed:
                return $"[ERROR] A message in {group} from {from} could not be decrypted ({UntrustedText.Sanitize(happened.Reason)}); it is not shown";
            default:
                return null;
        }
    }

    /// <summary>`sendfile #name PATH`'s offer: one group message for every member (the upload named them all).</summary>
    public async Task<string> SendFileOfferAsync(ChatClient client, string name, Parley.EndToEnd.Files.FileOffer offer, CancellationToken cancellationToken)
    {
        byte[] encoded = offer.Encode();
        try
        {
            GroupSent sent = await groups.SendFileOfferAsync(client, name, encoded, cancellationToken, save);
            return $"[STATUS] File offered to #{Clean(sent.Group)} ({sent.Recipients} member{(sent.Recipients == 1 ? "" : "s")})";
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(encoded); // it holds the file's key
            save();
        }
    }

    /// <summary>The members of #<paramref name="name"/> other than us: the recipients a file for the group is uploaded to.</summary>
    public async Task<string[]> OtherMembersAsync(ChatClient client, string name, CancellationToken cancellationToken) =>
        [.. (await groups.MembersAsync(client, name, cancellationToken)).Members.Where(m => m != user)];

    /// <summary>Stores a sender key, or queues an answer to a request for ours, that came over a pairwise session (never shown).</summary>
    public void TakeGroupPayload(E2eIncoming opened) => groups.TakeGroupPayload(opened);

    private string Describe(GroupChange change, string group, string from)
    {
        string subjects = string.Join(", ", change.Subjects.Select(s => s == user ? "you" : Clean(s)));
        return change.Change switch
        {
            GroupChangeKinds.Created => $"{from} created {group} with {subjects}",
            GroupChangeKinds.Added when GroupChangeKinds.IsJoin(change) => $"{from} joined {group}",
            GroupChangeKinds.Added => $"{from} added {subjects} to {group}",
            GroupChangeKinds.Removed => $"{from} removed {subjects} from {group}",
            GroupChangeKinds.Left => $"{from} left {group}",
            _ => $"{group} changed ({Clean(change.Change)})",
        };
    }

    /// <summary>The live invitation to <paramref name="name"/> as the server lists it (names checked canonical, so safe to print as they are), or null.</summary>
    private static async Task<GroupInvitation?> InvitationToAsync(ChatClient client, string name, CancellationToken cancellationToken)
    {
        string canonical = Usernames.TryNormalize(name, out string normalized, out _) ? normalized : name;
        return Listable(await client.GroupOverviewAsync(cancellationToken)).FirstOrDefault(i => i.Group == canonical);
    }

    /// <summary>Invitations whose names are as the server makes them: only those are shown, and their names go into hints as they are.</summary>
    private static IEnumerable<GroupInvitation> Listable(GroupListResult overview) =>
        (overview.Invitations ?? []).Where(i => Usernames.IsCanonical(i.Group) && Usernames.IsCanonical(i.InvitedBy));

    private static string NoInvitation(string name) => $"[ERROR] You have no invitation to #{Clean(name)} ('group list' shows them)";

    private static string InvitedLine(GroupInfo info) =>
        info.Invited is not { Length: > 0 } invited ? ""
            : Environment.NewLine + $"[STATUS] Invited {string.Join(", ", invited.Select(u => Clean(u)))} to #{Clean(info.Group)}: they join when they accept";

    /// <summary>`group list`: the groups, then the invitations waiting, then who may add us without asking.</summary>
    private static string Overview(GroupListResult overview)
    {
        List<string> lines = [];
        lines.AddRange(overview.Groups.Select(g => $"[GROUP] #{Clean(g.Group)} ({g.Members} member{(g.Members == 1 ? "" : "s")})"));
        if (lines.Count == 0)
        {
            lines.Add("[GROUP] You are in no group");
        }
        foreach (GroupInvitation invitation in Listable(overview))
        {
            string when = DateTimeOffset.FromUnixTimeMilliseconds(invitation.InvitedAt).ToLocalTime().ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
            lines.Add($"[GROUP] Invitation to #{invitation.Group} from {invitation.InvitedBy} ({when}): 'group accept {invitation.Group}' or 'group decline {invitation.Group}'");
        }
        if (overview.Allowed is { Length: > 0 } allowed)
        {
            lines.Add($"[GROUP] May add you without asking: {string.Join(", ", allowed.Select(u => Clean(u)))}");
        }
        return string.Join(Environment.NewLine, lines);
    }

    private static string Members(GroupInfo info) =>
        string.Join(", ", info.Members.Select(m => Clean(m) + (info.Admins.Contains(m) ? " (admin)" : "")));

    private static string Clean(string? value) => UntrustedText.Sanitize(value);
}
