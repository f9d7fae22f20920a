// The account's devices, from a logged-in connection: list them, revoke one. Revoking deletes the
// token at once (no later login can use it) and closes the connection that logged in with it.
using Parley.Messaging;
using Parley.Server.Accounts;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public sealed partial class ClientConnection
{
    private async Task ListDevicesAsync(DevicesRequest request, CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredDeviceToken> devices = await _tokens.ListAsync(User, cancellationToken).ConfigureAwait(false);
        DeviceInfo[] list = [.. devices.Select(d => new DeviceInfo(d.DeviceId, d.CreatedAt, d.LastUsedAt, d.DeviceId == DeviceId))];
        await ReplyAsync(new DeviceList(request.Ref, list)).ConfigureAwait(false);
    }

    private async Task RevokeDeviceAsync(RevokeDeviceRequest request, CancellationToken cancellationToken)
    {
        if (!DeviceTokens.IsWellFormedDeviceId(request.DeviceId))
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.BadRequest,
                $"a device id is {DeviceTokens.DeviceIdBytes * 2} lower-case hexadecimal characters, as 'devices' lists them")).ConfigureAwait(false);
            return;
        }
        // Only this account's devices match, so another account's id reads exactly like a missing one.
        if (!await _tokens.RevokeAsync(User, request.DeviceId, cancellationToken).ConfigureAwait(false))
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.UnknownDevice, $"your account has no device '{request.DeviceId}'")).ConfigureAwait(false);
            return;
        }
        // Another connection is closed before the revocation is confirmed: once the owner reads
        // "revoked", nothing that device sends on this node is handled any more. This one closes
        // after its answer (a closed connection's outbox takes nothing more).
        bool online = _presence.TryGetDevice(User, request.DeviceId, out ClientConnection revoked);
        if (online && revoked != this)
        {
            revoked.Close(ErrorCodes.DeviceRevoked, RevokedText);
        }
        // Its connection may be on another node.
        _presence.Cluster?.DeviceRevoked(User, request.DeviceId);
        await ReplyAsync(new DeviceRevoked(request.Ref, request.DeviceId)).ConfigureAwait(false);
        if (online && revoked == this)
        {
            Close(ErrorCodes.DeviceRevoked, RevokedText);
        }
    }

    internal const string RevokedText = "this device was revoked; log in with your password to use it again";

    /// <summary>The account's devices as the store holds them now (for a node that may have missed a revocation on the bus).</summary>
    internal Task<HashSet<string>> HeldDeviceIdsAsync(CancellationToken cancellationToken) => _tokens.HeldDeviceIdsAsync(User, cancellationToken);

    internal void CloseRevoked() => Close(ErrorCodes.DeviceRevoked, RevokedText);
}
