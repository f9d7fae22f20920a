using Parley.Messaging;
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

/// <summary><paramref name="AccountId"/> (on success) is the account's random id, which changes when the name is registered anew;
/// <paramref name="DeviceId"/> names the device token used or issued.</summary>
public sealed record LoginOutcome(bool Success, string User, string? NewDeviceToken, bool Registered, string? Error, TimeSpan RetryAfter,
    string? AccountId = null, string? DeviceId = null);

/// <summary>
/// Logins: first use of a name registers it with the password; later logins must match. A
/// successful password login returns a new device token (256 random bits; only its SHA-256 is
/// stored) so reconnects of that client skip PBKDF2. Every failure gives the same message.
/// </summary>
public sealed class AccountService(IMessageStore store, PasswordHasher hasher, LoginThrottle throttle, TimeProvider time)
{
    public const string InvalidCredentials = "invalid username or password";
    public const string InvalidToken = "invalid or revoked device token";
    public const int MaxPasswordLength = 1024;

    /// <summary>Issues, checks, lists and revokes device tokens (expiry, per-account cap, last use).</summary>
    public DeviceTokens Tokens { get; init; } = new(store, time, DeviceTokens.DefaultExpireAfterUnused, DeviceTokens.DefaultMaxPerAccount);

    public async Task<LoginOutcome> LoginAsync(LoginRequest request, string address, CancellationToken cancellationToken)
    {
        if (!Usernames.TryNormalize(request.User, out string user, out string nameError))
        {
            return new LoginOutcome(false, request.User ?? "", null, false, nameError, TimeSpan.Zero);
        }
        TimeSpan wait = throttle.RetryAfter(user, address);
        if (wait > TimeSpan.Zero)
        {
            int seconds = (int)Math.Ceiling(wait.TotalSeconds);
            return new LoginOutcome(false, user, null, false, $"too many failed logins; try again in {seconds} s", wait);
        }
        if (request.DeviceToken is not null)
        {
            return await TokenLoginAsync(user, request.DeviceToken, address, cancellationToken).ConfigureAwait(false);
        }
        if (string.IsNullOrEmpty(request.Password) || request.Password.Length > MaxPasswordLength)
        {
            return new LoginOutcome(false, user, null, false, $"a password of 1 to {MaxPasswordLength} characters is required", TimeSpan.Zero);
        }
        return await PasswordLoginAsync(user, request.Password, address, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LoginOutcome> PasswordLoginAsync(string user, string password, string address, CancellationToken cancellationToken)
    {
        Account? account = await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false);
        bool registered = false;
        if (account is null)
        {
            PasswordVerifier verifier = await hasher.HashAsync(password, cancellationToken).ConfigureAwait(false);
            Account created = new(user, verifier, time.GetUtcNow().ToUnixTimeMilliseconds(), AccountIdColumn.NewId());
            registered = await store.TryCreateAccountAsync(created, cancellationToken).ConfigureAwait(false);
            if (registered)
            {
                account = created;
            }
            else
            {
                // Someone registered the name between our lookup and insert: check against theirs.
                account = await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false);
            }
        }
        if (account is null || (!registered && !await hasher.VerifyAsync(password, account.Password, cancellationToken).ConfigureAwait(false)))
        {
            throttle.RecordFailure(user, address);
            return new LoginOutcome(false, user, null, false, InvalidCredentials, TimeSpan.Zero);
        }
        throttle.RecordSuccess(user, address);
        IssuedDeviceToken issued = await Tokens.IssueAsync(user, cancellationToken).ConfigureAwait(false);
        return new LoginOutcome(true, user, issued.Token, registered, null, TimeSpan.Zero, account.AccountId, issued.DeviceId);
    }

    private async Task<LoginOutcome> TokenLoginAsync(string user, string token, string address, CancellationToken cancellationToken)
    {
        StoredDeviceToken? device = await Tokens.ValidateAsync(user, token, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            throttle.RecordFailure(user, address);
            return new LoginOutcome(false, user, null, false, InvalidToken, TimeSpan.Zero);
        }
        Account? account = await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false);
        throttle.RecordSuccess(user, address);
        return new LoginOutcome(true, user, null, false, null, TimeSpan.Zero, account?.AccountId, device.DeviceId);
    }
}
