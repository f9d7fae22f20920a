// The client's login policy, shared by `parley chat`, `parley devices` and `parley bench`: the
// device token saved for this server key and user first, then the password; a saved token is
// deleted only when the server calls it invalid or revoked (invalid_token), never because logins
// are throttled; tokens and last-seen state live in a ParleyHome, per server key and account id.
using Parley.Messaging;

namespace Parley.Client;

public sealed class ClientLogin(ParleyHome home)
{
    /// <summary>
    /// Whether to load and save the highest message id shown (<see cref="SavedState"/>). A client
    /// that counts its messages itself (the benchmark) turns it off: it would write a file per message.
    /// </summary>
    public bool KeepsLastSeen { get; init; } = true;

    /// <summary>
    /// Whether tokens read or saved once are kept in memory for the next login (this object's
    /// own writes and deletions keep the copy right). A client that logs thousands of accounts in
    /// again and again (the benchmark) turns it on: it would read a file per login.
    /// </summary>
    public bool RemembersTokens { get; init; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Server, string User), string> _tokens = new();

    public ParleyHome Home => home;

    /// <summary>
    /// Notes which key answered at <paramref name="host"/>:<paramref name="port"/>; a host that now
    /// answers with another key is a new server, and the old key's tokens are deleted (first-contact
    /// and re-pin clean-up). Returns true when tokens were deleted.
    /// </summary>
    public bool RecordServerKey(ChatClient client, string host, int port)
    {
        bool dropped = home.RecordServerKey(host, port, client.ServerIdentity.Fingerprint);
        if (dropped)
        {
            _tokens.Clear();
        }
        return dropped;
    }

    /// <summary>Whether a device token is saved for <paramref name="user"/> on the server <paramref name="client"/> is connected to.</summary>
    public bool HasToken(ChatClient client, string user) => ReadToken(client.ServerIdentity.Fingerprint, user) is not null;

    /// <summary>
    /// Logs <paramref name="client"/> in as <paramref name="user"/>: with the saved token if there is
    /// one, else (or when the token is refused) with the password <paramref name="password"/> supplies,
    /// asked for only then. A token the server issues is saved. Set the client's handlers first: the
    /// server sends the inbox as soon as the login succeeds.
    /// </summary>
    /// <param name="password">Supplies the password when it is needed; null or empty means none is to be had.</param>
    public Task<LoginOutcome> LoginAsync(ChatClient client, string user, Func<CancellationToken, ValueTask<string?>> password, CancellationToken cancellationToken = default) =>
        LoginAsync(client, user, password, NewAccountPolicy.Unstated, cancellationToken);

    /// <summary>
    /// As above, and <paramref name="newAccounts"/> decides what happens when the name is not
    /// registered: register it, fail with <c>unknown_user</c>, or ask (and register with the
    /// password the question returns).
    /// </summary>
    public async Task<LoginOutcome> LoginAsync(ChatClient client, string user, Func<CancellationToken, ValueTask<string?>> password, NewAccountPolicy newAccounts,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newAccounts);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(password);
        string server = client.ServerIdentity.Fingerprint;
        if (KeepsLastSeen)
        {
            client.BindSavedState(home, user);
        }
        string? token = ReadToken(server, user);
        if (token is not null)
        {
            LoginResult byToken = await client.LoginAsync(user, null, token, cancellationToken).ConfigureAwait(false);
            if (byToken.Success)
            {
                return new LoginOutcome(byToken, ByToken: true);
            }
            // Only a token the server calls invalid or revoked is dropped; being throttled is not a reason.
            if (byToken.Code == ErrorCodes.InvalidToken)
            {
                home.DeleteToken(server, user);
                _tokens.TryRemove((server, user), out _);
            }
        }
        string? secret = await password(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(secret))
        {
            return new LoginOutcome(null, ByToken: false);
        }
        LoginResult result = await client.LoginAsync(user, secret, null, newAccounts.Register, cancellationToken).ConfigureAwait(false);
        if (result.Code == ErrorCodes.UnknownUser && newAccounts.ConfirmAsync is not null
            && await newAccounts.ConfirmAsync(cancellationToken).ConfigureAwait(false) is { Length: > 0 } chosen)
        {
            result = await client.LoginAsync(user, chosen, null, register: true, cancellationToken).ConfigureAwait(false);
        }
        if (result.Success && result.DeviceToken is not null)
        {
            home.WriteToken(server, user, result.DeviceToken);
            if (RemembersTokens)
            {
                _tokens[(server, user)] = result.DeviceToken;
            }
        }
        return new LoginOutcome(result, ByToken: false);
    }

    private string? ReadToken(string server, string user)
    {
        if (RemembersTokens && _tokens.TryGetValue((server, user), out string? remembered))
        {
            return remembered;
        }
        string? token = home.ReadToken(server, user);
        if (RemembersTokens && token is not null)
        {
            _tokens[(server, user)] = token;
        }
        return token;
    }
}

/// <summary>What a password login does with a name the server does not know.</summary>
/// <param name="Register">Sent as the login's <c>register</c> field (null: left out, the server registers).</param>
/// <param name="ConfirmAsync">
/// With <paramref name="Register"/> false: asked when the server answers <c>unknown_user</c>;
/// returns the new account's password (confirmed), or null to leave it unregistered.
/// </param>
public sealed record NewAccountPolicy(bool? Register, Func<CancellationToken, ValueTask<string?>>? ConfirmAsync = null)
{
    /// <summary>The field left out: the server registers a new name, as for clients before the field.</summary>
    public static NewAccountPolicy Unstated { get; } = new((bool?)null);

    /// <summary>`--register`: a new name is registered with the password given.</summary>
    public static NewAccountPolicy Allowed { get; } = new(true);

    /// <summary>Never register: an unknown name fails with <c>unknown_user</c>.</summary>
    public static NewAccountPolicy Refused { get; } = new(false);
}

/// <summary>How a <see cref="ClientLogin"/> ended.</summary>
/// <param name="Result">The server's answer to the last login request; null when a password was needed and none was supplied.</param>
/// <param name="ByToken">Whether <paramref name="Result"/> answers a device-token login.</param>
public sealed record LoginOutcome(LoginResult? Result, bool ByToken)
{
    public bool Success => Result?.Success == true;

    /// <summary>A password was needed (no token, or it was refused) and the provider had none.</summary>
    public bool PasswordMissing => Result is null;

    /// <summary>The name is not registered, and it was not to be (no --register, or the user said no).</summary>
    public bool NotRegistered => Result?.Code == ErrorCodes.UnknownUser;
}
