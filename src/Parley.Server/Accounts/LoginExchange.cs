using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Messaging.Compact;
using Parley.Protocol;
using Parley.Protocol.Text;
using Parley.Transport;
using Parley.Transport.Channels;

namespace Parley.Server.Accounts;

/// <summary>
/// The messenger login on a fresh channel (PROTOCOL.md §11): answers pings, refuses anything but a
/// login with <c>not_logged_in</c>, asks <see cref="AccountService"/>, and logs failures at a bounded rate.
/// Every line here is one an outsider can cause, so each goes through a rate limit (<paramref name="log"/>
/// for silent connections and logins the store could not check: a client that completed the
/// handshake and then said nothing wrote a line per connection, at whatever rate it chose).
/// </summary>
internal sealed class LoginExchange(AccountService accounts, ILogger logger, Hosting.LogRateLimiter log, TimeProvider time, TimeSpan loginTimeout,
    int maxBodyLength, Action<string> rememberAccount)
{
    private readonly LogRateLimit _failedLoginLog = new(time, LogRateLimit.DefaultFailedLoginLinesPerMinute);

    /// <summary>The successful login, to be sent once the user is online; null when the client left, failed or ran out of time.</summary>
    public async Task<LoginResult?> RunAsync(SecureChannel channel, string address, string source, CancellationToken deadline, CancellationToken stopping)
    {
        long turnStart = 0;
        try
        {
            while (true)
            {
                if (channel.RecordsRead - turnStart >= Hosting.EventThreads.RecordsPerTurn)
                {
                    turnStart = channel.RecordsRead;
                    await Hosting.EventThreads.Leave();
                }
                byte[]? payload = await channel.ReceiveAsync(deadline).ConfigureAwait(false);
                if (payload is null)
                {
                    return null;
                }
                ClientMessage message;
                try
                {
                    message = MessengerCodec.DecodeClient(payload);
                }
                catch (MessengerProtocolException e)
                {
                    await SendAsync(channel, new ErrorMessage(0, ErrorCodes.BadRequest, e.Message), deadline).ConfigureAwait(false);
                    continue;
                }
                if (message is PingMessage)
                {
                    await SendAsync(channel, new ServerPong(), deadline).ConfigureAwait(false);
                    continue;
                }
                if (message is not LoginRequest login)
                {
                    await SendAsync(channel, new ErrorMessage(0, ErrorCodes.NotLoggedIn, "log in first"), deadline).ConfigureAwait(false);
                    continue;
                }
                LoginOutcome outcome;
                try
                {
                    outcome = await accounts.LoginAsync(login, source, deadline).ConfigureAwait(false);
                }
                catch (Storage.StorageUnavailableException e)
                {
                    // Nothing was decided: the client may try again, here or on another node.
                    log.Write(Hosting.LogKind.LoginUnchecked, l => l.LogWarning("A login from {Address} could not be checked: {Error}", address, e.Message));
                    await SendAsync(channel, new ErrorMessage(0, ErrorCodes.StorageUnavailable,
                        "the server cannot reach its database; try again shortly"), deadline).ConfigureAwait(false);
                    continue;
                }
                LoginResult result = new(outcome.Success, outcome.User, outcome.NewDeviceToken, outcome.Registered, outcome.Error,
                    (int)Math.Ceiling(outcome.RetryAfter.TotalSeconds), outcome.AccountId, maxBodyLength, outcome.DeviceId, outcome.Code,
                    outcome.Success ? CompactForm.Agree(login.Compact) : null);
                if (outcome.Success)
                {
                    rememberAccount(outcome.User);
                    if (outcome.Registered)
                    {
                        logger.LogInformation("Registered new user {User}", UntrustedText.Sanitize(outcome.User));
                    }
                    return result;
                }
                // Logged before the answer goes out, so the log is complete once the client has it.
                if (_failedLoginLog.TryTake(out long suppressed))
                {
                    if (suppressed > 0)
                    {
                        logger.LogInformation("{Count} failed logins were not logged (more than {Limit} a minute)", suppressed, LogRateLimit.DefaultFailedLoginLinesPerMinute);
                    }
                    logger.LogInformation("Failed login for {User} from {Address}: {Code}", UntrustedText.Sanitize(outcome.User), address, outcome.Code);
                }
                await SendAsync(channel, result, deadline).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            log.Write(Hosting.LogKind.LoginTimeout, l => l.LogInformation("{Address} did not log in within {Seconds} s", address, loginTimeout.TotalSeconds));
            await TrySendAsync(channel, new ErrorMessage(0, ErrorCodes.LoginTimeout, $"log in within {loginTimeout.TotalSeconds:0} s")).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is ChannelException or ParleyProtocolException or OperationCanceledException)
        {
            return null;
        }
    }

    private static ValueTask SendAsync(SecureChannel channel, ServerMessage message, CancellationToken cancellationToken) =>
        channel.SendAsync(MessengerCodec.Encode(message), cancellationToken);

    private static async Task TrySendAsync(SecureChannel channel, ServerMessage message)
    {
        try
        {
            using CancellationTokenSource cts = new(TransportTimeouts.FarewellSend);
            await SendAsync(channel, message, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ChannelException or ParleyProtocolException or OperationCanceledException)
        {
        }
    }
}
