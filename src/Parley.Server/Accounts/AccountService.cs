using System.Security.Cryptography;
using Parley.Messaging;
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

/// <summary><paramref name="AccountId"/> (on success) is the account's random id, which changes when the name is registered anew.</summary>
public sealed record LoginOutcome(bool Success, string User, string? NewDeviceToken, bool Registered, string? Error, TimeSpan RetryAfter, string? AccountId = null);

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
        string token = NewToken(out byte[] tokenHash);
        await store.AddDeviceTokenAsync(tokenHash, user, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        return new LoginOutcome(true, user, token, registered, null, TimeSpan.Zero, account.AccountId);
    }

    private async Task<LoginOutcome> TokenLoginAsync(string user, string token, string address, CancellationToken cancellationToken)
    {
        byte[]? hash = HashToken(token);
        string? owner = hash is null ? null : await store.FindDeviceTokenAsync(hash, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        if (owner != user)
        {
            throttle.RecordFailure(user, address);
            return new LoginOutcome(false, user, null, false, InvalidToken, TimeSpan.Zero);
        }
        Account? account = await store.FindAccountAsync(user, cancellationToken).ConfigureAwait(false);
        throttle.RecordSuccess(user, address);
        return new LoginOutcome(true, user, null, false, null, TimeSpan.Zero, account?.AccountId);
    }

    private static string NewToken(out byte[] hash)
    {
        byte[] token = RandomNumberGenerator.GetBytes(32);
        hash = SHA256.HashData(token);
        string text = Convert.ToBase64String(token).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        CryptographicOperations.ZeroMemory(token);
        return text;
    }

    private static byte[]? HashToken(string token)
    {
        if (token.Length != 43)
        {
            return null;
        }
        try
        {
            byte[] raw = Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/') + "=");
            return raw.Length == 32 ? SHA256.HashData(raw) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
