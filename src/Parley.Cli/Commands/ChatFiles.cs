// Files in parley chat: `sendfile <user|#group> <path>` uploads and offers a file, `savefile <n> [path]`
// saves an offered one, `files` lists the offers, and with --download-dir every offer is saved
// there as it arrives. Offers are kept (sealed rows of the device database: they hold the file
// keys) until the file is saved, so a download interrupted by a lost connection or a restart goes
// on from its .part file; unfinished uploads go on from the upload journal the same way.
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Client.Files;
using Parley.EndToEnd;
using Parley.EndToEnd.Files;
using Parley.Messaging;
using Parley.Protocol.Text;
using Parley.Transport.Files;

namespace Parley.Cli.Commands;

/// <param name="records">This device's sealed file records (offers and the upload journal).</param>
/// <param name="directory">The user's transfers folder on this server key, where an earlier version kept them as files (moved in by <see cref="Load"/>).</param>
internal sealed class ChatFiles(ChatConsole console, string user, SealedFileRecords records, string directory, string? downloadDirectory, Func<string> prompt)
{
    /// <summary>Offers kept at most; beyond it the oldest is forgotten (the server deletes an untaken file after 30 days anyway).</summary>
    public const int MaxOffers = 100;

    /// <summary>Offers kept from one sender: past it that sender's oldest goes, so one contact cannot push out everyone else's.</summary>
    public const int MaxOffersPerSender = 20;

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly object _lock = new();
    private readonly List<ReceivedOffer> _offers = [];
    private readonly SemaphoreSlim _transfers = new(1, 1);
    // Downloads begun in an earlier run, or cut by a lost connection: ResumeDownloads goes on with them.
    private readonly HashSet<int> _toResume = [];
    private int _nextNumber = 1;

    private sealed record ReceivedOffer(int Number, string From, string Offer, FileId Id, long ReceivedAt, string? Destination = null);

    private sealed record StoredOffer(string From, string Offer, long ReceivedAt, string? Destination);

    public UploadJournal Journal { get; } = new(records);

    /// <summary>--file-rate: keeps every upload and download at or under a rate (transfers run one at a time).</summary>
    public TransferPacer? Pacer { get; init; }

    /// <summary>Loads the offers kept from earlier runs (moving in an earlier version's files first); the lines that announce them.</summary>
    public IReadOnlyList<string> Load()
    {
        List<string> lines = [];
        // What did not move stays where it was, and is tried again at the next start.
        foreach (string failure in LegacyTransferFiles.MoveInto(directory, records).Failed)
        {
            lines.Add(ChatText.Error("A file transfer kept by an earlier version could not be moved into the device database", failure));
        }
        if (records.DropUnreadable() is > 0 and int dropped)
        {
            lines.Add($"[ERROR] {dropped} stored file record(s) did not authenticate (changed, or sealed under another key file) and were dropped");
        }
        List<StoredOffer> stored = [];
        foreach ((string fileId, byte[] value) in records.All(FileRecordKind.Offer))
        {
            try
            {
                if (JsonSerializer.Deserialize<StoredOffer>(value, s_json) is { } offer)
                {
                    stored.Add(offer);
                }
            }
            catch (JsonException)
            {
                records.Remove(FileRecordKind.Offer, fileId);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(value);
            }
        }
        foreach (StoredOffer offer in stored.OrderBy(o => o.ReceivedAt))
        {
            lines.Add(Announce(offer.From, offer.Offer, offer.ReceivedAt, offer.Destination, persist: false));
        }
        return lines;
    }

    /// <summary>An offer arrived end to end: remember it and say so (the auto-save, if any, starts in the background).</summary>
    public string Offered(string from, byte[] encoded)
    {
        if (from == user && encoded.Length > 0)
        {
            // Our own offer, copied to this device like every message we send: the server keeps the file for the recipients only.
            try
            {
                using FileOffer own = FileOffer.Decode(encoded);
                return $"[FILE] You sent {UntrustedText.Sanitize(own.Name, 80)} ({Sizes.Format(own.Layout.Size)}) from another device";
            }
            catch (E2eProtocolException e)
            {
                return $"[ERROR] A file offer from your other device could not be read ({UntrustedText.Sanitize(e.Reason)})";
            }
        }
        return Announce(from, Convert.ToHexStringLower(encoded), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, persist: true);
    }

    /// <summary>Set once logged in: the auto-saver and resumed downloads run on it.</summary>
    public Func<ChatClient?>? CurrentClient { get; set; }

    private string Announce(string from, string offerHex, long receivedAt, string? destination, bool persist)
    {
        FileOffer offer;
        try
        {
            offer = FileOffer.Decode(Convert.FromHexString(offerHex));
        }
        catch (E2eProtocolException e)
        {
            return $"[ERROR] A file offer from {UntrustedText.Sanitize(from)} could not be read ({UntrustedText.Sanitize(e.Reason)})";
        }
        using (offer)
        {
            ReceivedOffer received;
            lock (_lock)
            {
                // Offers are kept by file id, which the offering peer chooses: a second offer of one id
                // would replace the first's stored offer (and key), and its flood delete it. The same
                // sender offering it again is a repeat; anyone else is refused.
                if (_offers.FirstOrDefault(o => o.Id == offer.FileId) is { } held)
                {
                    return held.From == from
                        ? $"[FILE] {UntrustedText.Sanitize(from)} offered {UntrustedText.Sanitize(offer.Name, 80)} again; it is offer {held.Number}"
                        : $"[ERROR] {UntrustedText.Sanitize(from)} offered a file under the id of one {UntrustedText.Sanitize(held.From)} offered (offer {held.Number}); it was not kept";
                }
                received = new ReceivedOffer(_nextNumber++, from, offerHex, offer.FileId, receivedAt, destination);
                _offers.Add(received);
                if (_offers.FindAll(o => o.From == from) is { Count: > MaxOffersPerSender } fromSender)
                {
                    Forget(fromSender[0]);
                }
                else if (_offers.Count > MaxOffers)
                {
                    Forget(_offers[0]);
                }
            }
            if (persist)
            {
                Persist(received, offer.FileId);
            }
            string name = UntrustedText.Sanitize(offer.Name, 80);
            string who = UntrustedText.Sanitize(from);
            string size = Sizes.Format(offer.Layout.Size);
            if (destination is not null)
            {
                // Begun in an earlier run: ResumeDownloads goes on with it from its .part file.
                lock (_lock)
                {
                    _toResume.Add(received.Number);
                }
                return $"[FILE] Going on with saving {name} ({size}) from {who} to {UntrustedText.Sanitize(destination, 200)}";
            }
            if (persist && downloadDirectory is not null)
            {
                // The name is taken now (its partial file made), and kept with the offer: a later offer
                // of the same name, or a restart, never saves into this one's partial file or it into theirs.
                string target;
                try
                {
                    target = SafeFileName.ReserveFreePath(downloadDirectory, SafeFileName.From(offer.Name));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return $"[ERROR] {who} sent {name} ({size}), which cannot be saved in {UntrustedText.Sanitize(downloadDirectory, 200)}: {UntrustedText.Sanitize(e.Message, 200)}; 'savefile {received.Number} PATH' saves it elsewhere";
                }
                lock (_lock)
                {
                    if (_offers.IndexOf(received) is int at and >= 0)
                    {
                        _offers[at] = received = received with { Destination = target };
                    }
                }
                Persist(received, offer.FileId);
                _ = AutoSaveAsync(received.Number);
                return $"[FILE] {who} sent {name} ({size}); saving it to {UntrustedText.Sanitize(target, 200)}";
            }
            return $"[FILE] {who} offers {name} ({size}); 'savefile {received.Number}' to save it (or 'savefile {received.Number} PATH')";
        }
    }

    private async Task AutoSaveAsync(int number)
    {
        // After the handler that announced the offer has returned: the download needs the reader loop.
        await Task.Yield();
        if (CurrentClient?.Invoke() is not { } client)
        {
            return;
        }
        console.WriteLine(await SaveAsync(client, number, null, CancellationToken.None));
    }

    /// <summary>Lists the offers not saved yet.</summary>
    public string List()
    {
        lock (_lock)
        {
            if (_offers.Count == 0)
            {
                return "[FILE] No files offered";
            }
            return string.Join(Environment.NewLine, _offers.Select(o =>
            {
                using FileOffer offer = FileOffer.Decode(Convert.FromHexString(o.Offer));
                return $"[FILE] {o.Number}: {UntrustedText.Sanitize(offer.Name, 80)} ({Sizes.Format(offer.Layout.Size)}) from {UntrustedText.Sanitize(o.From)}" +
                    (o.Destination is null ? "" : $", being saved to {UntrustedText.Sanitize(o.Destination, 200)}");
            }));
        }
    }

    /// <summary>`savefile N [PATH]`: downloads, verifies and saves offer N; the line to print.</summary>
    public async Task<string> SaveAsync(ChatClient client, int number, string? path, CancellationToken cancellationToken)
    {
        ReceivedOffer? received;
        lock (_lock)
        {
            received = _offers.FirstOrDefault(o => o.Number == number);
        }
        if (received is null)
        {
            return $"[ERROR] There is no file offer {number}; 'files' lists them";
        }
        using FileOffer offer = FileOffer.Decode(Convert.FromHexString(received.Offer));
        string destination;
        if (received.Destination is not null && path is null)
        {
            destination = received.Destination;
        }
        else
        {
            string target = Path.GetFullPath(path ?? downloadDirectory ?? Directory.GetCurrentDirectory());
            // A folder gets the sender's name, made safe and free, and taken at once (its partial file
            // made); a file path given by the user is taken as it is, if free and no other download's.
            if (Directory.Exists(target))
            {
                destination = SafeFileName.ReserveFreePath(target, SafeFileName.From(offer.Name));
            }
            else
            {
                destination = target;
                if (File.Exists(destination))
                {
                    return $"[ERROR] {UntrustedText.Sanitize(destination, 200)} exists already; files are never overwritten";
                }
                if (File.Exists(FileReceiver.PartPath(destination)) && received.Destination != destination)
                {
                    return $"[ERROR] {UntrustedText.Sanitize(FileReceiver.PartPath(destination), 200)} is another download's partial file; choose another path";
                }
            }
        }
        await _transfers.WaitAsync(cancellationToken);
        try
        {
            lock (_lock)
            {
                if (!_offers.Contains(received))
                {
                    return $"[ERROR] File offer {number} is saved or gone already";
                }
                _offers[_offers.IndexOf(received)] = received = received with { Destination = destination };
            }
            Persist(received, offer.FileId);
            TransferProgress progress = new(console, $"receiving {UntrustedText.Sanitize(offer.Name, 40)}", prompt(), TimeProvider.System);
            try
            {
                await new FileReceiver(client) { Pacer = Pacer }.ReceiveAsync(offer, destination, progress, cancellationToken);
            }
            finally
            {
                progress.Done();
            }
            lock (_lock)
            {
                Forget(received);
            }
            return $"[FILE] Saved {UntrustedText.Sanitize(destination, 200)} ({Sizes.Format(offer.Layout.Size)}) from {UntrustedText.Sanitize(received.From)}; SHA-256 verified";
        }
        catch (E2eProtocolException e)
        {
            return $"[ERROR] File {number} was refused: a chunk did not authenticate ({UntrustedText.Sanitize(e.Reason)}); only verified chunks were kept in the .part file";
        }
        catch (FileVerificationException e)
        {
            lock (_lock)
            {
                Forget(received);
            }
            return $"[ERROR] File {number} was refused: {e.Message}";
        }
        catch (ChatException e) when (e.Code == ErrorCodes.UnknownFile)
        {
            lock (_lock)
            {
                Forget(received);
            }
            return $"[ERROR] File {number} is no longer on the server (expired, or the sender's upload never finished)";
        }
        catch (Exception e) when (e is ChatConnectionException or IOException or Parley.Protocol.ParleyProtocolException)
        {
            lock (_lock)
            {
                _toResume.Add(number);
            }
            return $"[ERROR] Saving file {number} stopped ({UntrustedText.Sanitize(e.Message)}); it goes on from where it stopped after reconnecting or with 'savefile {number}'";
        }
        finally
        {
            _transfers.Release();
        }
    }

    /// <summary>
    /// `sendfile USER PATH` or `sendfile #GROUP PATH`: uploads (or goes on uploading) and offers the
    /// file end to end; the line to print. A group's file is uploaded for its other members as they
    /// are now, and offered in one group message.
    /// </summary>
    public async Task<string> SendAsync(ChatClient client, ChatEndToEnd keys, string to, string path, CancellationToken cancellationToken)
    {
        string? group = to.StartsWith('#') ? to[1..] : null;
        string user = "";
        if (group is null && !Usernames.TryNormalize(to, out user, out string nameError))
        {
            return $"[ERROR] {nameError}";
        }
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            return $"[ERROR] There is no file {UntrustedText.Sanitize(fullPath, 200)}";
        }
        string[] recipients = [user];
        if (group is not null)
        {
            try
            {
                recipients = await keys.Groups.OtherMembersAsync(client, group, cancellationToken);
            }
            catch (ChatException e)
            {
                return ChatText.Error($"#{UntrustedText.Sanitize(group)}", e.Message);
            }
            if (recipients.Length is 0 or > MessengerLimits.MaxFileRecipients)
            {
                return $"[ERROR] A file for a group goes to 1 to {MessengerLimits.MaxFileRecipients} other members; #{UntrustedText.Sanitize(group)} has {recipients.Length}";
            }
        }
        await _transfers.WaitAsync(cancellationToken);
        try
        {
            long size = new FileInfo(fullPath).Length;
            if (size >= 16 * 1024 * 1024)
            {
                // Its SHA-256 is taken first (for the offer and for resuming safely): say why nothing moves yet.
                console.WriteLine($"[FILE] Reading {UntrustedText.Sanitize(Path.GetFileName(fullPath), 80)} ({Sizes.Format(size)}) once to fingerprint it, then sending it");
            }
            TransferProgress progress = new(console, $"sending {UntrustedText.Sanitize(Path.GetFileName(fullPath), 40)}", prompt(), TimeProvider.System);
            UploadEntry entry;
            try
            {
                entry = await new FileSender(client, Journal) { Pacer = Pacer }.UploadAsync(fullPath, recipients, "application/octet-stream", progress, cancellationToken, group);
            }
            finally
            {
                progress.Done();
            }
            return await OfferAsync(client, keys, entry, cancellationToken);
        }
        catch (Exception e) when (e is ChatConnectionException or Parley.Protocol.ParleyProtocolException)
        {
            return "[ERROR] The connection was lost while sending the file; the upload goes on after reconnecting";
        }
        finally
        {
            _transfers.Release();
        }
    }

    /// <summary>Takes up the uploads of the journal (after a restart or a reconnection); the lines to print.</summary>
    public async Task<IReadOnlyList<string>> ResumeUploadsAsync(ChatClient client, ChatEndToEnd keys, CancellationToken cancellationToken)
    {
        List<string> lines = [];
        foreach (UploadEntry pending in Journal.Entries())
        {
            await _transfers.WaitAsync(cancellationToken);
            try
            {
                lines.Add($"[FILE] Going on with sending {UntrustedText.Sanitize(pending.Name, 80)} to {string.Join(", ", pending.To.Select(u => UntrustedText.Sanitize(u)))}");
                TransferProgress progress = new(console, $"sending {UntrustedText.Sanitize(pending.Name, 40)}", prompt(), TimeProvider.System);
                UploadEntry? entry;
                try
                {
                    entry = await new FileSender(client, Journal) { Pacer = Pacer }.ResumeAsync(pending, progress, cancellationToken);
                }
                finally
                {
                    progress.Done();
                }
                lines.Add(entry is null
                    ? $"[ERROR] {UntrustedText.Sanitize(pending.Name, 80)} changed or its upload expired; send it again with 'sendfile'"
                    : await OfferAsync(client, keys, entry, cancellationToken));
            }
            catch (ChatException e)
            {
                lines.Add(ChatText.Error(e.Message));
            }
            finally
            {
                _transfers.Release();
            }
        }
        return lines;
    }

    /// <summary>Downloads that were started (a destination chosen) and not finished: they go on in the background.</summary>
    public void ResumeDownloads()
    {
        List<ReceivedOffer> started;
        lock (_lock)
        {
            started = [.. _offers.Where(o => o.Destination is not null && _toResume.Contains(o.Number))];
            _toResume.Clear();
        }
        foreach (ReceivedOffer offer in started)
        {
            _ = AutoSaveAsync(offer.Number);
        }
    }

    private async Task<string> OfferAsync(ChatClient client, ChatEndToEnd keys, UploadEntry entry, CancellationToken cancellationToken)
    {
        using FileOffer offer = FileSender.OfferFor(entry);
        List<string> lines = [];
        bool any = false;
        if (entry.Group is { } group)
        {
            try
            {
                lines.Add(await keys.Groups.SendFileOfferAsync(client, group, offer, cancellationToken));
                any = true;
            }
            catch (ChatException e)
            {
                lines.Add(ChatText.Error($"The file was not offered to #{UntrustedText.Sanitize(group)}", e.Message));
            }
        }
        foreach (string user in entry.Group is null ? entry.To : [])
        {
            (bool sent, string line) = await keys.SendFileOfferAsync(client, user, offer, cancellationToken);
            any |= sent;
            lines.Add(line);
        }
        if (any)
        {
            Journal.Remove(entry.FileId);
        }
        lines.Insert(0, $"[FILE] Sent {UntrustedText.Sanitize(entry.Name, 80)} ({Sizes.Format(entry.Size)}), encrypted end to end");
        return string.Join(Environment.NewLine, lines);
    }

    private void Persist(ReceivedOffer offer, FileId id) =>
        records.Put(FileRecordKind.Offer, id.ToString(), JsonSerializer.SerializeToUtf8Bytes(new StoredOffer(offer.From, offer.Offer, offer.ReceivedAt, offer.Destination), s_json));

    private void Forget(ReceivedOffer offer)
    {
        _offers.Remove(offer);
        // The file key goes with the row.
        records.Remove(FileRecordKind.Offer, offer.Id.ToString());
    }
}
