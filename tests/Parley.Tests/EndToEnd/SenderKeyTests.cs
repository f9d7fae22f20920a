using Parley.EndToEnd;
using Parley.EndToEnd.SenderKeys;

namespace Parley.Tests.EndToEnd;

/// <summary>The sender-key chain (PROTOCOL.md §14) on its own: order, skips, forgeries, replays, bounds and state round trips.</summary>
public class SenderKeyTests
{
    private static readonly byte[] s_group = [.. Enumerable.Range(0, 16).Select(i => (byte)i)];

    private static (OwnSenderKey Sender, ReceivedSenderKey Receiver) Pair()
    {
        OwnSenderKey sender = OwnSenderKey.Generate(s_group);
        using SenderKeyDistribution distribution = sender.Distribution();
        return (sender, ReceivedSenderKey.From(SenderKeyDistribution.Decode(distribution.Encode())));
    }

    private static E2eError ErrorOf(Action action) => Assert.Throws<E2eProtocolException>(action).Error;

    [Fact]
    public void Messages_open_in_order_out_of_order_and_only_once()
    {
        (OwnSenderKey sender, ReceivedSenderKey receiver) = Pair();
        using (sender)
        using (receiver)
        {
            byte[][] messages = [.. Enumerable.Range(0, 5).Select(i => sender.Encrypt([(byte)i]))];
            Assert.Equal([0], receiver.Decrypt(messages[0]));
            Assert.Equal([3], receiver.Decrypt(messages[3]));
            Assert.Equal(2, receiver.SkippedCount);
            Assert.Equal([1], receiver.Decrypt(messages[1]));
            Assert.Equal([4], receiver.Decrypt(messages[4]));
            Assert.Equal([2], receiver.Decrypt(messages[2]));
            Assert.Equal(0, receiver.SkippedCount);
            Assert.Equal(E2eError.DuplicateMessage, ErrorOf(() => receiver.Decrypt(messages[2])));
        }
    }

    [Fact]
    public void A_member_who_holds_the_chain_cannot_forge_the_senders_messages()
    {
        (OwnSenderKey sender, ReceivedSenderKey receiver) = Pair();
        using (sender)
        using (receiver)
        {
            byte[] genuine = sender.Encrypt("from alice"u8);
            // Flipping a ciphertext bit breaks the signature; a forger re-signing with its own key too.
            byte[] tampered = (byte[])genuine.Clone();
            tampered[SenderKeyMessage.HeaderSize] ^= 1;
            Assert.Equal(E2eError.InvalidSignature, ErrorOf(() => receiver.Decrypt(tampered)));
            using OwnSenderKey forger = OwnSenderKey.Generate(s_group);
            byte[] forged = forger.Encrypt("from alice"u8);
            Assert.Equal(E2eError.SessionMismatch, ErrorOf(() => receiver.Decrypt(forged)));
            Assert.Equal(E2eError.MalformedData, ErrorOf(() => receiver.Decrypt(genuine.AsSpan(0, 40).ToArray())));
            // None of it moved the chain.
            Assert.Equal("from alice"u8.ToArray(), receiver.Decrypt(genuine));
        }
    }

    [Fact]
    public void A_receiver_reads_from_the_iteration_it_was_given_never_before()
    {
        using OwnSenderKey sender = OwnSenderKey.Generate(s_group);
        byte[] before = sender.Encrypt("before"u8);
        using SenderKeyDistribution later = sender.Distribution();
        using ReceivedSenderKey newcomer = ReceivedSenderKey.From(later);
        Assert.Equal(1u, newcomer.Iteration);
        Assert.Equal(E2eError.DuplicateMessage, ErrorOf(() => newcomer.Decrypt(before)));
        Assert.Equal("after"u8.ToArray(), newcomer.Decrypt(sender.Encrypt("after"u8)));
    }

    [Fact]
    public void Skipping_too_far_ahead_is_refused_and_changes_nothing()
    {
        (OwnSenderKey sender, ReceivedSenderKey receiver) = Pair();
        using (sender)
        using (receiver)
        {
            for (int i = 0; i <= SenderKeyLimits.MaxSkip; i++)
            {
                sender.Encrypt([]);
            }
            byte[] tooFar = sender.Encrypt([9]);
            Assert.Equal(E2eError.TooManySkippedMessages, ErrorOf(() => receiver.Decrypt(tooFar)));
            Assert.Equal(0u, receiver.Iteration);
            Assert.Equal(0, receiver.SkippedCount);
        }
    }

    [Fact]
    public void States_round_trip_and_keep_reading()
    {
        (OwnSenderKey sender, ReceivedSenderKey receiver) = Pair();
        byte[] skipped = sender.Encrypt("skipped"u8);
        using OwnSenderKey restoredSender = OwnSenderKey.Deserialize(sender.Serialize());
        byte[] next = restoredSender.Encrypt("next"u8);
        Assert.Equal("next"u8.ToArray(), receiver.Decrypt(next));
        using ReceivedSenderKey restoredReceiver = ReceivedSenderKey.Deserialize(receiver.Serialize());
        Assert.Equal("skipped"u8.ToArray(), restoredReceiver.Decrypt(skipped));
        Assert.Equal(E2eError.DuplicateMessage, ErrorOf(() => restoredReceiver.Decrypt(next)));
        sender.Dispose();
        receiver.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sender.Encrypt([]));
    }

    [Fact]
    public void Malformed_distributions_and_messages_are_refused_with_their_case()
    {
        using OwnSenderKey sender = OwnSenderKey.Generate(s_group);
        using SenderKeyDistribution distribution = sender.Distribution();
        byte[] encoded = distribution.Encode();
        Assert.Equal(SenderKeyDistribution.EncodedSize, encoded.Length);
        Assert.Equal(E2eError.MalformedData, ErrorOf(() => SenderKeyDistribution.Decode(encoded.AsSpan(0, encoded.Length - 1))));
        Assert.Equal(E2eError.MalformedData, ErrorOf(() => SenderKeyDistribution.Decode([.. encoded, 0])));
        encoded[0] = 2;
        Assert.Equal(E2eError.UnsupportedVersion, ErrorOf(() => SenderKeyDistribution.Decode(encoded)));
        byte[] message = sender.Encrypt([]);
        message[0] = 9;
        Assert.Equal(E2eError.UnsupportedVersion, ErrorOf(() => SenderKeyMessage.Parse(message)));
    }
}
