using System.Text.RegularExpressions;
using Parley.Client.EndToEnd;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>
/// Receipts (PROTOCOL.md §13.10–§13.11): the payload layout against the spec's vectors, strict
/// decoding, the bounds of what a contact can make a client hold, and receipts between two real
/// devices through a real server: delivered and read arrive, a receipt is never answered, and
/// read receipts turned off send only "delivered" and show no one else's "read".
/// </summary>
public partial class E2eReceiptTests
{
    private static E2eMessageId Id(int start) => E2eMessageId.Read(Enumerable.Range(start, 16).Select(i => (byte)i).ToArray());

    private static Dictionary<string, string> SpecVectors() =>
        PayloadVector().Matches(File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md")))
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    [Fact]
    public void The_payload_vectors_of_the_spec_are_what_the_code_encodes_and_decodes()
    {
        Dictionary<string, string> spec = SpecVectors();
        Assert.Equal(spec["payload_text_hi"], Convert.ToHexStringLower(E2ePayload.Encode(E2ePayload.Text, Id(0x00), "hi")));
        E2eReceipt receipt = new(ReceiptType.Read, [Id(0x00), Id(0x20)]);
        Assert.Equal(spec["payload_receipt_read"], Convert.ToHexStringLower(receipt.Encode(Id(0x10))));

        Assert.True(E2ePayload.TryDecodeText(Convert.FromHexString(spec["payload_text_hi"]), out byte kind, out E2eMessageId id, out string text));
        Assert.Equal((E2ePayload.Text, Id(0x00), "hi"), (kind, id, text));
        Assert.True(E2ePayload.TrySplit(Convert.FromHexString(spec["payload_receipt_read"]), out kind, out id, out ReadOnlySpan<byte> body));
        Assert.Equal((E2ePayload.Receipt, Id(0x10)), (kind, id));
        Assert.True(E2eReceipt.TryDecodeBody(body, out E2eReceipt? decoded));
        Assert.Equal(receipt, decoded);
        Assert.Equal("000102030405060708090a0b0c0d0e0f", Id(0x00).ToString());
    }

    [Fact]
    public void The_bounds_the_spec_states_are_the_codes()
    {
        string spec = Regex.Replace(File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md")), @"\s+", " ");
        string receipts = spec[spec.IndexOf("### 13.11 Receipts", StringComparison.Ordinal)..];
        Assert.Contains($"u8 count (1 to {E2eReceipt.MaxIds})", receipts, StringComparison.Ordinal);
        Assert.Contains($"remembers at most {ReceiptBook.MaxTrackedSent:N0} of its sent messages", receipts, StringComparison.Ordinal);
        Assert.Contains($"keeps at most {ReceiptBook.MaxPendingIds:N0} receipt ids waiting", receipts, StringComparison.Ordinal);
        Assert.Contains($"most {ReceiptBook.MaxUnreadPerUser} unread message ids per sender for {ReceiptBook.MaxUnreadUsers} senders", receipts, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_payloads_and_receipts_are_refused_whole()
    {
        Assert.False(E2ePayload.TrySplit(new byte[16], out _, out _, out _));
        Assert.False(E2ePayload.TryDecodeText([E2ePayload.Text, .. new byte[16], 0xC3], out _, out _, out _));
        Assert.False(E2ePayload.TryDecodeText(new E2eReceipt(ReceiptType.Delivered, [Id(1)]).Encode(), out _, out _, out _));
        byte[] good = new E2eReceipt(ReceiptType.Delivered, [Id(1), Id(2)]).EncodeBody();
        Assert.True(E2eReceipt.TryDecodeBody(good, out _));
        Assert.False(E2eReceipt.TryDecodeBody([.. good, 0], out _));            // trailing byte
        Assert.False(E2eReceipt.TryDecodeBody(good[..^1], out _));              // truncated id
        Assert.False(E2eReceipt.TryDecodeBody([3, .. good[1..]], out _));      // unknown type
        Assert.False(E2eReceipt.TryDecodeBody([1, 0], out _));                 // no ids
        Assert.False(E2eReceipt.TryDecodeBody([1, 2, .. Id(1).ToBytes(), .. Id(1).ToBytes()], out _)); // an id twice
        byte[] tooMany = [1, 101, .. Enumerable.Range(0, 101).SelectMany(i => Id(i).ToBytes())];
        Assert.False(E2eReceipt.TryDecodeBody(tooMany, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new E2eReceipt(ReceiptType.Read, [.. Enumerable.Range(0, 101).Select(Id)]).EncodeBody());
    }

    [Fact]
    public void A_contact_cannot_make_the_book_hold_more_than_its_bounds_nor_move_messages_it_was_not_sent()
    {
        ReceiptBook book = new();
        book.Sent("bob", Id(1));
        // Receipts for unknown ids, or from another user than the message went to, change nothing.
        Assert.Null(book.Apply("bob", new E2eReceipt(ReceiptType.Read, [Id(2)])));
        Assert.Null(book.Apply("mallory", new E2eReceipt(ReceiptType.Read, [Id(1)])));
        Assert.Equal(ReceiptType.Delivered, book.Apply("bob", new E2eReceipt(ReceiptType.Delivered, [Id(1)]))!.Type);
        Assert.Null(book.Apply("bob", new E2eReceipt(ReceiptType.Delivered, [Id(1)])));   // shown once
        Assert.Equal(ReceiptType.Read, book.Apply("bob", new E2eReceipt(ReceiptType.Read, [Id(1)]))!.Type);
        Assert.Null(book.Apply("bob", new E2eReceipt(ReceiptType.Delivered, [Id(1)])));   // never backwards

        // A flood of messages owes at most MaxPendingIds receipt ids; batches hold at most MaxIds.
        for (int i = 0; i < ReceiptBook.MaxPendingIds + 500; i++)
        {
            book.Received("mallory", E2eMessageId.New(), seen: false);
        }
        Assert.Equal(ReceiptBook.MaxPendingIds, book.PendingCount);
        int batches = 0;
        while (book.TryTake(out string to, out E2eReceipt? receipt))
        {
            Assert.Equal("mallory", to);
            Assert.InRange(receipt!.MessageIds.Count, 1, E2eReceipt.MaxIds);
            batches++;
        }
        Assert.Equal(ReceiptBook.MaxPendingIds / E2eReceipt.MaxIds, batches);
        // The unread kept for a later 'read' is bounded too.
        Assert.Equal(ReceiptBook.MaxUnreadPerUser, book.MarkRead("mallory"));

        // Only the last MaxTrackedSent of our messages are remembered.
        for (int i = 0; i < ReceiptBook.MaxTrackedSent; i++)
        {
            book.Sent("bob", E2eMessageId.New());
        }
        Assert.Null(book.StateOf(Id(1)));
    }

    [Fact]
    public void With_read_receipts_off_only_delivered_is_sent_and_a_read_is_shown_as_delivered()
    {
        ReceiptBook book = new() { ReadReceipts = false };
        book.Received("bob", Id(1), seen: true);
        Assert.True(book.TryTake(out _, out E2eReceipt? receipt));
        Assert.Equal(ReceiptType.Delivered, receipt!.Type);
        Assert.Equal(0, book.PendingCount);

        book.Sent("bob", Id(2));
        Assert.Equal(ReceiptType.Delivered, book.Apply("bob", new E2eReceipt(ReceiptType.Read, [Id(2)]))!.Type);
    }

    [Fact]
    public void Group_messages_keep_a_state_per_member_within_bounds_and_receipts_are_batched_per_conversation()
    {
        ReceiptBook book = new();
        book.SentToGroup("team", Id(1));
        Assert.Equal((ReceiptType.Read, "team"), Shown(book.Apply("bob", new E2eReceipt(ReceiptType.Read, [Id(1)]))));
        Assert.Equal((ReceiptType.Delivered, "team"), Shown(book.Apply("carol", new E2eReceipt(ReceiptType.Delivered, [Id(1)]))));
        Assert.Null(book.Apply("bob", new E2eReceipt(ReceiptType.Delivered, [Id(1)])));   // never backwards
        Assert.Null(book.Apply("bob", new E2eReceipt(ReceiptType.Read, [Id(2)])));        // an id we never sent

        // A sender of made-up names cannot grow one message's states past the group limit.
        book.SentToGroup("big", Id(3));
        for (int i = 0; i < ReceiptBook.MaxMembersTracked + 50; i++)
        {
            book.Apply($"user{i}", new E2eReceipt(ReceiptType.Delivered, [Id(3)]));
        }
        Assert.Null(book.Apply($"user{ReceiptBook.MaxMembersTracked + 1}", new E2eReceipt(ReceiptType.Read, [Id(3)])));
        Assert.NotNull(book.Apply("user0", new E2eReceipt(ReceiptType.Read, [Id(3)])));

        // Only the last group messages are remembered.
        for (int i = 0; i < ReceiptBook.MaxTrackedGroupSent; i++)
        {
            book.SentToGroup("team", Id((byte)(10 + i)));
        }
        Assert.Null(book.Apply("dave", new E2eReceipt(ReceiptType.Read, [Id(1)])));

        // One receipt names messages of one conversation: a group's apart from the 1:1 chat's.
        ReceiptBook receiver = new();
        receiver.Received("alice", Id(1), seen: false, group: "team");
        receiver.Received("alice", Id(2), seen: false);
        receiver.Received("alice", Id(3), seen: false, group: "team");
        Assert.True(receiver.TryTake(out string to, out E2eReceipt? first));
        Assert.Equal(("alice", "team"), (to, first!.Group));
        Assert.Equal([Id(1), Id(3)], first.MessageIds);
        Assert.True(receiver.TryTake(out _, out E2eReceipt? second));
        Assert.Equal([Id(2)], second!.MessageIds);
        Assert.Null(second.Group);
    }

    private static (ReceiptType, string?)? Shown(ReceiptShown? shown) => shown is null ? null : (shown.Type, shown.Group);

    [Fact]
    public async Task Delivered_then_read_receipts_arrive_end_to_end_and_a_receipt_is_never_answered()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        ReceiptExchange aliceReceipts = new(alice.Keys), bobReceipts = new(bob.Keys);

        E2eSent sent = await aliceReceipts.SendTextAsync(alice.Client, "bob", "did you get this?").WithTimeout();
        E2eIncoming text = await bob.NextAsync();
        Assert.Equal(sent.MessageId, text.MessageId);

        // Bob's client stored it without showing it: "delivered"; later the user reads it: "read".
        Assert.Null(bobReceipts.Received(text, seen: false));
        Assert.Equal(1, await bobReceipts.SendPendingAsync(bob.Client).WithTimeout());
        E2eIncoming delivered = await alice.NextAsync();
        Assert.Null(delivered.Text);
        ReceiptShown? shown = aliceReceipts.Received(delivered, seen: true);
        Assert.Equal(("bob", ReceiptType.Delivered), (shown!.From, shown.Type));
        Assert.Equal([sent.MessageId!.Value], shown.MessageIds);

        Assert.Equal(1, bobReceipts.Book.MarkRead("alice"));
        Assert.Equal(1, await bobReceipts.SendPendingAsync(bob.Client).WithTimeout());
        shown = aliceReceipts.Received(await alice.NextAsync(), seen: true);
        Assert.Equal(ReceiptType.Read, shown!.Type);

        // Alice's client handled two receipts and owes nothing back.
        Assert.Equal(0, aliceReceipts.Book.PendingCount);
        Assert.Equal(0, await aliceReceipts.SendPendingAsync(alice.Client).WithTimeout());
        // Bob's next message is the first thing alice's device gets: no receipt came in between.
        await bob.Keys.SendTextAsync(bob.Client, "alice", "yes").WithTimeout();
        Assert.Equal("yes", (await alice.NextAsync()).Text);
        Assert.Equal(0, bob.Inbox.Reader.Count);
    }

    [Fact]
    public async Task Read_receipts_off_sends_delivered_only_and_a_broadcast_copy_gets_no_receipt()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        ReceiptExchange aliceReceipts = new(alice.Keys), bobReceipts = new(bob.Keys);
        bobReceipts.Book.ReadReceipts = false;

        await alice.Keys.SendBroadcastCopyAsync(alice.Client, "bob", "to everyone").WithTimeout();
        E2eIncoming copy = await bob.NextAsync();
        Assert.True(copy.Broadcast);
        bobReceipts.Received(copy, seen: true);
        Assert.Equal(0, bobReceipts.Book.PendingCount);

        await aliceReceipts.SendTextAsync(alice.Client, "bob", "read me").WithTimeout();
        bobReceipts.Received(await bob.NextAsync(), seen: true);
        Assert.Equal(1, await bobReceipts.SendPendingAsync(bob.Client).WithTimeout());
        ReceiptShown? shown = aliceReceipts.Received(await alice.NextAsync(), seen: true);
        Assert.Equal(ReceiptType.Delivered, shown!.Type);
        Assert.Equal(0, bobReceipts.Book.MarkRead("alice"));   // seen already: nothing left unread, and no read receipt
        Assert.Equal(0, bobReceipts.Book.PendingCount);
    }

    [GeneratedRegex(@"^    (payload_[a-z_]+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex PayloadVector();
}
