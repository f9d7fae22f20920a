// The running totals behind the file bounds (§11.8, FileCharges): for each uploader, its complete
// files still on the server and their charge; for each recipient, the charge of the complete files a
// device of theirs still awaits, in all and from each uploader. Summing them from the file rows at
// every begin and end cost a read per file (16,384 a recipient, 256 recipients a file) under the
// admission lock. Kept instead by the writes that change them, in the same transaction, a bound is one
// row to read. Every store applies a change in one order (uploaders by name, then recipients by name,
// each recipient's total before its shares), so two PostgreSQL transactions that lock the same rows
// lock them in the same order.
namespace Parley.Server.Storage;

/// <summary>The rows of the running totals, inside a store's open transaction. Each call adds (or, negative, takes away) and returns the new value; a row that comes to zero is deleted.</summary>
internal interface IFileTotalsRows
{
    Task<(int Files, long Charged)> AddToUploaderAsync(string uploader, int files, long charged, CancellationToken cancellationToken);

    Task<long> AddToInboxAsync(string recipient, long charged, CancellationToken cancellationToken);

    Task<long> AddToShareAsync(string recipient, string uploader, long charged, CancellationToken cancellationToken);
}

/// <summary>What one write does to the running totals, gathered before it is applied in the one order.</summary>
internal sealed class FileTotalsChange
{
    private readonly SortedDictionary<string, (int Files, long Charged)> _uploaders = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SortedDictionary<string, long>> _recipients = new(StringComparer.Ordinal);

    /// <summary>A file completed: counted against its uploader, and against each of <paramref name="awaitingUsers"/> (users with a device it awaits).</summary>
    public void Completed(string owner, long size, int recipients, IEnumerable<string> awaitingUsers)
    {
        AddUploader(owner, 1, FileCharges.ForUploader(size, recipients));
        foreach (string user in awaitingUsers.Distinct(StringComparer.Ordinal))
        {
            AddShare(user, owner, FileCharges.InInbox(size));
        }
    }

    /// <summary>
    /// A file deleted: a complete one no longer counts against its uploader, nor against each of
    /// <paramref name="stillAwaitingUsers"/>. An unfinished upload was never counted here.
    /// </summary>
    public void Deleted(string owner, long size, int recipients, bool complete, IEnumerable<string> stillAwaitingUsers)
    {
        if (!complete)
        {
            return;
        }
        AddUploader(owner, -1, -FileCharges.ForUploader(size, recipients));
        foreach (string user in stillAwaitingUsers.Distinct(StringComparer.Ordinal))
        {
            AddShare(user, owner, -FileCharges.InInbox(size));
        }
    }

    /// <summary>The last awaited device of <paramref name="user"/> took the file: it no longer counts against them.</summary>
    public void TakenBy(string user, string owner, long size) => AddShare(user, owner, -FileCharges.InInbox(size));

    /// <summary>Applies the change in the one order. With <paramref name="bounds"/>, stops at the first total an increase takes past its bound and says which (the caller rolls back).</summary>
    public async Task<FileCompletion?> ApplyAsync(IFileTotalsRows rows, FileBounds bounds, CancellationToken cancellationToken)
    {
        foreach ((string uploader, (int files, long charged)) in _uploaders)
        {
            (int nowFiles, long nowCharged) = await rows.AddToUploaderAsync(uploader, files, charged, cancellationToken).ConfigureAwait(false);
            if (charged > 0 && nowCharged > bounds.WaitingPerUploader)
            {
                return new FileCompletion(CompletionResult.UploaderFull, Held: nowCharged - charged, Files: nowFiles - files);
            }
        }
        foreach ((string recipient, SortedDictionary<string, long> shares) in _recipients)
        {
            long change = shares.Values.Sum();
            long inbox = await rows.AddToInboxAsync(recipient, change, cancellationToken).ConfigureAwait(false);
            if (change > 0 && inbox > bounds.Inbox)
            {
                return new FileCompletion(CompletionResult.InboxFull, recipient, inbox - change);
            }
            foreach ((string uploader, long charged) in shares)
            {
                long share = await rows.AddToShareAsync(recipient, uploader, charged, cancellationToken).ConfigureAwait(false);
                if (charged > 0 && share > bounds.FromOneSender)
                {
                    return new FileCompletion(CompletionResult.SenderShareFull, recipient, share - charged);
                }
            }
        }
        return null;
    }

    private void AddUploader(string owner, int files, long charged)
    {
        (int Files, long Charged) now = _uploaders.GetValueOrDefault(owner);
        _uploaders[owner] = (now.Files + files, now.Charged + charged);
    }

    private void AddShare(string user, string owner, long charged)
    {
        if (!_recipients.TryGetValue(user, out SortedDictionary<string, long>? shares))
        {
            _recipients[user] = shares = new SortedDictionary<string, long>(StringComparer.Ordinal);
        }
        shares[owner] = shares.GetValueOrDefault(owner) + charged;
    }
}

/// <summary>Thrown inside a store's transaction to roll a refused completion back; caught by the store, never seen outside it.</summary>
internal sealed class RefusedCompletionException(FileCompletion completion) : Exception("the file does not fit its bounds")
{
    public FileCompletion Completion { get; } = completion;
}
