// The periodic sweep, on the server's TimeProvider: deletes undelivered messages past their
// expiry, empties the database log (so no copy of a deleted body stays in it), and drops idle
// rate-limit and quota state, so none of them grows without bound.
using Microsoft.Extensions.Logging;

namespace Parley.Server.Delivery;

internal sealed class Maintenance(Hosting.ServerOptions options, StoreWriter writer, SenderRateLimiter rateLimiter, ILogger logger)
{
    private TaskCompletionSource _nextSweep = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the sweep after this call has finished (tests wait on it instead of sleeping).</summary>
    internal Task NextSweep => Volatile.Read(ref _nextSweep).Task;

    /// <summary>Files in transit: abandoned uploads and files past the message expiry are deleted by each sweep.</summary>
    internal Storage.IFileStore? Files { get; init; }

    /// <summary>Starts the periodic sweep. The timer exists when this returns, so time moved after it counts.</summary>
    public Task Start(CancellationToken stopping)
    {
        PeriodicTimer timer = new(options.SweepInterval, options.Time);
        return Task.Run(() => RunAsync(timer, stopping), CancellationToken.None);
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        using PeriodicTimer _ = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await SweepAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            long cutoff = (options.Time.GetUtcNow() - options.MessageExpiry).ToUnixTimeMilliseconds();
            int expired = await writer.ExpireAsync(cutoff, cancellationToken).ConfigureAwait(false);
            if (expired > 0)
            {
                logger.LogInformation("Deleted {Count} undelivered messages older than {Days:0.#} days", expired, options.MessageExpiry.TotalDays);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed("expiry", e);
        }
        try
        {
            if (Files is not null)
            {
                DateTimeOffset now = options.Time.GetUtcNow();
                Storage.FileSweep files = await Files.DeleteExpiredAsync((now - options.UploadExpiry).ToUnixTimeMilliseconds(),
                    (now - options.MessageExpiry).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
                if (files.Abandoned + files.Expired > 0)
                {
                    logger.LogInformation("Deleted {Abandoned} abandoned uploads and {Expired} files not taken within {Days:0.#} days",
                        files.Abandoned, files.Expired, options.MessageExpiry.TotalDays);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed("file", e);
        }
        try
        {
            rateLimiter.ForgetIdle();
            // Last: on PostgreSQL a VACUUM of a large table takes as long as it takes, and nothing
            // else of this sweep waits behind it (the next sweep does).
            await writer.CheckpointAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed("checkpoint", e);
        }
        finally
        {
            Interlocked.Exchange(ref _nextSweep, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>
    /// One step of one sweep failed: said, and the next sweep tries again. Whatever the store threw
    /// (a PostgreSQL error other than "unavailable": too many clients, a statement timeout, a full
    /// disk), the loop goes on; one escaped exception used to end every later sweep, and with it the
    /// deletion of expired messages and files, and the server's shutdown with it.
    /// </summary>
    private void Failed(string step, Exception e)
    {
        if (e is IOException or Microsoft.Data.Sqlite.SqliteException or Storage.StorageUnavailableException)
        {
            logger.LogWarning("The {Step} sweep failed: {Message}", step, e.Message);
        }
        else
        {
            logger.LogError("The {Step} sweep failed ({Type}): {Message}; the next sweep tries again", step, e.GetType().Name, e.Message);
        }
    }
}
