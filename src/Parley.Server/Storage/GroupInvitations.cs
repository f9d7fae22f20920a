namespace Parley.Server.Storage;

/// <summary>
/// Bounds on what a stranger can make anyone hold through group invitations (PROTOCOL.md §11.7,
/// docs/decisions/0016): a flood of invitations pushes out only older invitations, never a
/// membership, and one inviter cannot fill a user's list alone.
/// </summary>
/// <param name="MaxPerUser">Live invitations one user holds; one more drops that user's oldest.</param>
/// <param name="MaxPerInviter">Live invitations one user holds from one inviter; one more drops the oldest of those.</param>
/// <param name="Lifetime">After this an invitation is gone (it cannot be accepted, and is not listed).</param>
/// <param name="MaxAllowed">Users one user accepts adds from; one more drops the oldest.</param>
public sealed record InvitationRules(int MaxPerUser, int MaxPerInviter, TimeSpan Lifetime, int MaxAllowed)
{
    public static InvitationRules Default { get; } = new(MaxPerUser: 50, MaxPerInviter: 5, Lifetime: TimeSpan.FromDays(30), MaxAllowed: 256);

    /// <summary>Invitations made before this (Unix ms) are expired at <paramref name="now"/>.</summary>
    public long ExpiredBefore(long now) => now - (long)Lifetime.TotalMilliseconds;
}

/// <summary>One live invitation of a user: to <paramref name="Group"/> (whose id is <paramref name="GroupId"/>), by <paramref name="InvitedBy"/>.</summary>
public sealed record GroupInvitationRow(string Group, string GroupId, string InvitedBy, long InvitedAt);
