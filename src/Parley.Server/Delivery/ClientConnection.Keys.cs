// The key directory from a logged-in connection (PROTOCOL.md §11.5): a device publishes its own
// public keys; anyone logged in fetches a user's bundles. Keys are opaque to the server and
// bounded in size and count; both requests cost from the sender's rate budget: a publish is a
// write transaction, and a fetch uses up one-time keys an attacker would otherwise drain for free.
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public sealed partial class ClientConnection
{
    private async Task PublishKeysAsync(PublishKeysRequest request, CancellationToken cancellationToken)
    {
        byte[][] oneTime = request.OneTimePrekeys ?? [];
        byte[][] oneTimeKem = request.OneTimeKemPrekeys ?? [];
        if (!IsKey(request.IdentityKey) || (request.SignedPrekey is not null && !IsKey(request.SignedPrekey))
            || (request.LastResortKemPrekey is not null && !IsKey(request.LastResortKemPrekey))
            || !oneTime.All(IsKey) || !oneTimeKem.All(IsKey))
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.BadRequest,
                $"every key is 1 to {MessengerLimits.MaxPublicKeyBytes} bytes, and the identity key is required")).ConfigureAwait(false);
            return;
        }
        if (oneTime.Length > MessengerLimits.MaxOneTimePrekeysPerPublish || oneTimeKem.Length > MessengerLimits.MaxOneTimeKemPrekeysPerPublish)
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.TooManyKeys,
                $"one publish carries at most {MessengerLimits.MaxOneTimePrekeysPerPublish} one-time prekeys and " +
                $"{MessengerLimits.MaxOneTimeKemPrekeysPerPublish} one-time KEM prekeys")).ConfigureAwait(false);
            return;
        }
        // Every publish is a write transaction: it costs from the sender's budget like a message.
        long bytes = request.IdentityKey.Length + (request.SignedPrekey?.Length ?? 0) + (request.LastResortKemPrekey?.Length ?? 0)
            + oneTime.Sum(k => (long)k.Length) + oneTimeKem.Sum(k => (long)k.Length);
        if (!_rateLimiter.TryTake(User, 1, bytes, out TimeSpan retryAfter))
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.RateLimited,
                $"you are publishing keys too fast; try again in {seconds} s", seconds)).ConfigureAwait(false);
            return;
        }
        DeviceKeysUpload upload = new(User, DeviceId, request.IdentityKey, request.SignedPrekey, request.LastResortKemPrekey,
            oneTime, oneTimeKem, _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
        PublishResult result = await _store.PublishDeviceKeysAsync(upload, MessengerLimits.MaxOneTimePrekeysPerDevice, cancellationToken).ConfigureAwait(false);
        ServerMessage reply = result.Outcome switch
        {
            PublishOutcome.Stored => new KeysPublished(request.Ref, result.OneTimePrekeys, result.OneTimeKemPrekeys),
            PublishOutcome.IdentityKeyChanged => new ErrorMessage(request.Ref, ErrorCodes.IdentityKeyChanged,
                "this device already published another identity key; a new identity needs a new device (log in with your password)"),
            PublishOutcome.MissingSignedKeys => new ErrorMessage(request.Ref, ErrorCodes.BadRequest,
                "a device's first publish carries its signed prekey and its last-resort KEM prekey"),
            _ => new ErrorMessage(request.Ref, ErrorCodes.TooManyKeys,
                $"a device holds at most {MessengerLimits.MaxOneTimePrekeysPerDevice} one-time keys of each kind on the server " +
                $"(it has {result.OneTimePrekeys} and {result.OneTimeKemPrekeys})"),
        };
        await ReplyAsync(reply).ConfigureAwait(false);
    }

    private static bool IsKey(byte[]? key) => key is { Length: > 0 and <= MessengerLimits.MaxPublicKeyBytes };

    private async Task FetchBundlesAsync(FetchBundlesRequest request, CancellationToken cancellationToken)
    {
        if (!Usernames.TryNormalize(request.User, out string user, out string nameError))
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.InvalidUsername, nameError)).ConfigureAwait(false);
            return;
        }
        if (!await _accounts.ExistsAsync(user, cancellationToken).ConfigureAwait(false))
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.UnknownRecipient, $"there is no user '{user}'")).ConfigureAwait(false);
            return;
        }
        if (request.Devices is { Length: > MessengerLimits.MaxFetchDevices })
        {
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.BadRequest,
                $"a fetch names at most {MessengerLimits.MaxFetchDevices} devices")).ConfigureAwait(false);
            return;
        }
        if (!_rateLimiter.TryTake(User, 1, 0, out TimeSpan retryAfter))
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            await ReplyAsync(new ErrorMessage(request.Ref, ErrorCodes.RateLimited,
                $"you are fetching keys too fast; try again in {seconds} s", seconds)).ConfigureAwait(false);
            return;
        }
        HashSet<string>? only = request.Devices is null ? null : new HashSet<string>(request.Devices.Where(d => d is not null), StringComparer.Ordinal);
        IReadOnlyList<TakenBundle> taken = await _store.TakeBundlesAsync(user, user == User ? DeviceId : null, only, cancellationToken).ConfigureAwait(false);
        DeviceBundle[] bundles = [.. taken.Select(b => new DeviceBundle(b.DeviceId, b.IdentityKey, b.SignedPrekey, b.OneTimePrekey, b.KemPrekey, b.KemPrekeyIsLastResort))];
        await ReplyAsync(new BundleList(request.Ref, user, bundles)).ConfigureAwait(false);
    }

    // The lambdas live here, not in HandleOrFailAsync: a lambda there that captures its
    // cancellationToken makes the compiler allocate the closure at that method's entry, for every
    // request a connection sends (77 bytes per message in a server allocation trace).
    private Task PublishKeysOrFailAsync(PublishKeysRequest publish, CancellationToken cancellationToken) =>
        AnswerStoreFailureAsync(publish.Ref, "publishing keys", () => PublishKeysAsync(publish, cancellationToken));

    private Task FetchBundlesOrFailAsync(FetchBundlesRequest fetch, CancellationToken cancellationToken) =>
        AnswerStoreFailureAsync(fetch.Ref, "fetching keys", () => FetchBundlesAsync(fetch, cancellationToken));

    /// <summary>A store that fails (disk, corruption) fails this request with <c>internal_error</c>, not the connection.</summary>
    private async Task AnswerStoreFailureAsync(long reference, string what, Func<Task> request)
    {
        try
        {
            await request().ConfigureAwait(false);
        }
        // A shared store out of reach is not this request's fault: HandleAsync answers storage_unavailable.
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException and not (Transport.Channels.ChannelException or StorageUnavailableException))
        {
            _logger.LogError(e, "The store failed while {What} for a device", what);
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.Internal, $"the server failed while {what}; nothing was changed")).ConfigureAwait(false);
        }
    }
}
