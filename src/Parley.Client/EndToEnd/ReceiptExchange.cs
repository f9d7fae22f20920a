// Receipts between one device and its contacts (PROTOCOL.md §13.11): what arrives is sorted here
// (a text is owed a receipt, a receipt moves our sent messages forward), and the receipts owed are
// sent end to end through the device, in batches. A receipt is never answered, and a broadcast
// copy or a copy from our own other device is never receipted.

namespace Parley.Client.EndToEnd;

public sealed class ReceiptExchange(E2eDevice device)
{
    public ReceiptBook Book { get; } = new();

    /// <summary>Sends a text whose receipts will be shown: its id is remembered before it leaves (a receipt may beat the send's own result).</summary>
    public async Task<E2eSent> SendTextAsync(ChatClient client, string to, string text, CancellationToken cancellationToken = default)
    {
        E2eMessageId id = E2eMessageId.New();
        Book.Sent(to, id);
        return await device.SendTextAsync(client, to, text, cancellationToken, id).ConfigureAwait(false);
    }

    /// <summary>
    /// An opened payload: a text from someone else is owed a receipt ("read" when
    /// <paramref name="seen"/> and read receipts are on); a receipt is applied, and what it moved
    /// forward is returned to show (null: nothing to show).
    /// </summary>
    public ReceiptShown? Received(E2eIncoming opened, bool seen)
    {
        ArgumentNullException.ThrowIfNull(opened);
        if (!opened.Opened || opened.MessageId is not E2eMessageId id)
        {
            return null;
        }
        if (opened.Receipt is { } receipt)
        {
            if (opened.From == device.User)
            {
                Book.ApplyOwn(receipt);
                return null;
            }
            return Book.Apply(opened.From, receipt);
        }
        // File offers are not receipted (§13.11): the file's own file_done tells the server, not the sender.
        if (!opened.Broadcast && opened.FileOffer is null && opened.From != device.User)
        {
            Book.Received(opened.From, id, seen);
        }
        return null;
    }

    /// <summary>
    /// Sends every receipt waiting; returns how many receipts went. A receipt that meets a changed
    /// identity or a refusal is dropped (best effort); one cut off by a lost connection waits for
    /// the next (the exception is rethrown).
    /// </summary>
    public async Task<int> SendPendingAsync(ChatClient client, Action? saved = null, CancellationToken cancellationToken = default)
    {
        int sent = 0;
        while (Book.TryTake(out string to, out E2eReceipt? receipt))
        {
            try
            {
                await device.SendReceiptAsync(client, to, receipt!, cancellationToken).ConfigureAwait(false);
                sent++;
            }
            catch (Exception e) when (e is IdentityChangedException or ChatException)
            {
                // Not to a device we do not trust, and not again after a refusal (rate, unknown user).
            }
            catch
            {
                Book.PutBack(to, receipt!);
                throw;
            }
            finally
            {
                saved?.Invoke();
            }
        }
        return sent;
    }
}
