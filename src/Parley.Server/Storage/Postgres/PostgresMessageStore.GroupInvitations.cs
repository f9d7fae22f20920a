// Placeholder until the PostgreSQL half of group invitations lands (PROTOCOL.md §11.7).
namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore
{
    public Task<GroupChangeResult> AcceptInvitationAsync(string name, string user, long now, GroupBounds bounds, CancellationToken cancellationToken) => throw new NotImplementedException();
    public Task<bool> DeclineInvitationAsync(string name, string user, long now, InvitationRules rules, CancellationToken cancellationToken) => throw new NotImplementedException();
    public Task<IReadOnlyList<GroupInvitationRow>> InvitationsOfAsync(string user, long now, InvitationRules rules, CancellationToken cancellationToken) => throw new NotImplementedException();
    public Task<GroupOutcome> SetAddsAllowedAsync(string user, string other, bool allowed, long now, InvitationRules rules, CancellationToken cancellationToken) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> AddsAllowedByAsync(string user, CancellationToken cancellationToken) => throw new NotImplementedException();
}
