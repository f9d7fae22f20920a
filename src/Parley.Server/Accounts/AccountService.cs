using Parley.Messaging;
using Parley.Protocol.Text;
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

/// <summary>
/// <paramref name="Code"/> is one of the login codes of <see cref="ErrorCodes"/>; null on success.
/// <paramref name="AccountId"/> (on success) is the account's random id, which changes when the name
/// is registered anew; <paramref name="DeviceId"/> names the device token used or issued.
/// </summary>
public sealed record LoginOutcome(bool Success, string User, string? NewDeviceToken, bool Registered, string? Error, TimeSpan RetryAfter,
    string? Code = null, string? AccountId = null, string? DeviceId = null);

/// <summary>
/// Logins: first use of a name registers it with the password, unless the request says it may not
/// (<c>register: false</c>: <c>unknown_user</c>); later logins must match. A
/// successful password login returns a new device token (256 random bits; only its SHA-256 is
/// stored) so reconnects of that client skip PBKDF2. Every wrong password gives the same message.
/// <paramref name="source"/> in the methods below is the client's <see cref="Hosting.AddressBlock"/>.
/// </summary>
public sealed class AccountService(IMessageStore store, PasswordHasher hasher, LoginThrottle throttle, RegistrationLimiter registrations, TimeProvider time)
{
    public const string InvalidCredentials = "invalid username or password";
    public const string InvalidToken = "invalid or revoked device token";
    public const int MaxPasswordLength = 1024;

    /// <summary>Longest echo of a rejected name (sanitised): enough to recognise it, never a flood.</summary>
    public const int MaxEchoedNameLength = 64;

    private readonly AccountGates _gates = new();

    internal AccountIdCache AccountIds { get; } = new();

    /// <summary>Issues, checks, lists and revokes device tokens (expiry, per-account cap, last use).</summary>
    public DeviceTokens Tokens { get; init; } = new(store, time, DeviceTokens.DefaultExpireAfterUnused, DeviceTokens.DefaultMaxPerAccount);

    public PasswordHasher Hasher => hasher;

    public async Task<LoginOutcome> LoginAsync(LoginRequest request, string source, CancellationToken cancellationToken)
    {
        if (!Usernames.TryNormalize(request.User, out string user, out string nameError))
        {
            return Failure(UntrustedText.Sanitize(request.User, MaxEchoedNameLength), nameError, ErrorCodes.InvalidUsername);
        }
        if (request.DeviceToken is not null)
        {
            // Never throttled by password back-off: a real user's device keeps working while
            // someone else guesses their password.
            return await TokenLoginAsync(user, request.DeviceToken, cancellationToken).ConfigureAwait(false);
        }
        if (string.IsNullOrEmpty(request.Password) || request.Password.Length > MaxPasswordLength)
        {
            return Failure(user, $"a password of 1 to {MaxPasswordLength} characters is required", ErrorCodes.BadRequest);
        }
        if (throttle.Peek(user, source) is { } early && early > TimeSpan.Zero)
        {
            return RateLimited(user, early);
        }
        using (await _gates.EnterAsync(user, cancellationToken).ConfigureAwait(false))
        {
            // Absent means what it meant before the field existed: first use registers.
            return await PasswordLoginAsync(user, request.Password, request.Register ?? true, source, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs with this account's gate held: no other password check for it is in flight.</summary>
    private async Task<LoginOutcome> PasswordLoginAsync(string user, string password, bool mayRegister, string source, CancellationToken cancellationToken)
    {
        Account? account = await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false);
        if (account is null && !mayRegister)
        {
            // Says plainly that the name is free, which a registering login already reveals; so
            // that this is no cheaper a probe than a password guess, it is counted as a failed
            // login (same back-off per account and source, same server-wide budget).
            if (!throttle.TryBegin(user, source, out TimeSpan probeWait))
            {
                return RateLimited(user, probeWait);
            }
            throttle.Failed(user, source);
            return Failure(user, $"{user} is not registered on this server", ErrorCodes.UnknownUser);
        }
        if (account is null)
        {
            if (PasswordPolicy.RejectForNewAccount(password) is { } weak)
            {
                return Failure(user, weak, ErrorCodes.WeakPassword);
            }
            if (!registrations.TryTake(source, out TimeSpan registrationWait))
            {
                return Failure(user, $"too many new accounts; try again in {Seconds(registrationWait)} s", ErrorCodes.RegistrationLimited, registrationWait);
            }
            PasswordVerifier verifier = await hasher.HashAsync(password, cancellationToken).ConfigureAwait(false);
            Account created = new(user, verifier, time.GetUtcNow().ToUnixTimeMilliseconds(), AccountIdColumn.NewId());
            if (await store.TryCreateAccountAsync(created, cancellationToken).ConfigureAwait(false))
            {
                return await IssueTokenAsync(created, registered: true, cancellationToken).ConfigureAwait(false);
            }
            // Someone registered the name between our lookup and insert: check against theirs.
            account = await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false);
        }
        // Reserved before PBKDF2 runs, so the failure of this attempt is already counted while it runs.
        if (!throttle.TryBegin(user, source, out TimeSpan wait))
        {
            return RateLimited(user, wait);
        }
        bool right = false;
        try
        {
            right = account is not null && await hasher.VerifyAsync(password, account.Password, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // An attempt abandoned mid-check counts as a failure: hanging up must not buy free guesses.
            if (right)
            {
                throttle.Succeeded(user, source);
            }
            else
            {
                throttle.Failed(user, source);
            }
        }
        if (!right || account is null)
        {
            return Failure(user, InvalidCredentials, ErrorCodes.InvalidCredentials);
        }
        return await IssueTokenAsync(account, registered: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LoginOutcome> IssueTokenAsync(Account account, bool registered, CancellationToken cancellationToken)
    {
        IssuedDeviceToken issued = await Tokens.IssueAsync(account.Username, cancellationToken).ConfigureAwait(false);
        AccountIds.Put(account.Username, account.AccountId);
        return new LoginOutcome(true, account.Username, issued.Token, registered, null, TimeSpan.Zero, AccountId: account.AccountId, DeviceId: issued.DeviceId);
    }

    private async Task<LoginOutcome> TokenLoginAsync(string user, string token, CancellationToken cancellationToken)
    {
        StoredDeviceToken? device = await Tokens.ValidateAsync(user, token, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return Failure(user, InvalidToken, ErrorCodes.InvalidToken);
        }
        if (!AccountIds.TryGet(user, out string? accountId))
        {
            accountId = (await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false))?.AccountId;
            AccountIds.Put(user, accountId);
        }
        return new LoginOutcome(true, user, null, false, null, TimeSpan.Zero, AccountId: accountId, DeviceId: device.DeviceId);
    }

    private static LoginOutcome Failure(string user, string error, string code, TimeSpan retryAfter = default) =>
        new(false, user, null, false, error, retryAfter, code);

    private static LoginOutcome RateLimited(string user, TimeSpan wait) =>
        Failure(user, $"too many failed logins; try again in {Seconds(wait)} s", ErrorCodes.RateLimited, wait);

    private static int Seconds(TimeSpan wait) => (int)Math.Ceiling(wait.TotalSeconds);
}
