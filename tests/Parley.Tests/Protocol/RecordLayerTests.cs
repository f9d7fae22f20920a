using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

public class RecordLayerTests
{
    public static TheoryData<string> Suites() => new(AeadAlgorithms.All.Select(s => s.Name));

    private static (SecureSession Client, SecureSession Server) Connect(string suite = "aes-256-gcm", RecordLimits? limits = null)
    {
        (SecureSession c, SecureSession s, _) = HandshakeHarness.Run(
            HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Get(suite), limits),
            HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Get(suite), limits));
        return (c, s);
    }

    private static List<byte[]> Frames(byte[] bytes)
    {
        FrameDecoder decoder = new(1 << 21);
        decoder.Append(bytes);
        List<byte[]> bodies = [];
        while (decoder.TryReadFrame(out ReadOnlyMemory<byte> body))
        {
            bodies.Add(body.ToArray());
        }
        return bodies;
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Flipping_any_bit_of_a_record_fails_and_yields_no_plaintext(string suite)
    {
        byte[] secret = "the launch code is 0000"u8.ToArray();
        for (int bit = 0; ; bit++)
        {
            (SecureSession client, SecureSession server) = Connect(suite);
            byte[] body = Frames(client.Seal(MessageType.ApplicationData, secret))[0];
            if (bit >= body.Length * 8)
            {
                break;
            }
            body[bit / 8] ^= (byte)(1 << (bit % 8));
            byte[] plaintext = new byte[body.Length];
            var error = Assert.Throws<ParleyProtocolException>(() => server.Open(body, plaintext));
            Assert.Contains(error.Error, new[] { ProtocolError.BadRecordMac, ProtocolError.UnexpectedMessage });
            Assert.All(plaintext, b => Assert.Equal(0, b));
            // After a failure the session refuses to go on.
            Assert.Throws<InvalidOperationException>(() => server.Open(body, plaintext));
        }
    }

    [Fact]
    public void Replayed_records_are_rejected()
    {
        (SecureSession client, SecureSession server) = Connect();
        byte[] body = Frames(client.Seal(MessageType.ApplicationData, "pay alice 10"u8))[0];
        Assert.Equal("pay alice 10"u8.ToArray(), server.Open(body).Payload);
        Assert.Equal(ProtocolError.BadRecordMac, Assert.Throws<ParleyProtocolException>(() => server.Open(body)).Error);
    }

    [Fact]
    public void Reordered_records_are_rejected()
    {
        (SecureSession client, SecureSession server) = Connect();
        byte[] first = Frames(client.Seal(MessageType.ApplicationData, "one"u8))[0];
        byte[] second = Frames(client.Seal(MessageType.ApplicationData, "two"u8))[0];
        Assert.Equal(ProtocolError.BadRecordMac, Assert.Throws<ParleyProtocolException>(() => server.Open(second)).Error);
        _ = first;
    }

    [Fact]
    public void A_dropped_record_is_detected_at_the_next_one()
    {
        (SecureSession client, SecureSession server) = Connect();
        Frames(client.Seal(MessageType.ApplicationData, "dropped"u8));
        byte[] next = Frames(client.Seal(MessageType.ApplicationData, "next"u8))[0];
        Assert.Equal(ProtocolError.BadRecordMac, Assert.Throws<ParleyProtocolException>(() => server.Open(next)).Error);
    }

    [Fact]
    public void Truncated_records_are_rejected()
    {
        (SecureSession client, SecureSession server) = Connect();
        byte[] body = Frames(client.Seal(MessageType.ApplicationData, "truncate me please"u8))[0];
        Assert.Equal(ProtocolError.BadRecordMac, Assert.Throws<ParleyProtocolException>(() => server.Open(body[..^1])).Error);
        (client, server) = Connect();
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<ParleyProtocolException>(() => server.Open(body[..5])).Error);
    }

    [Fact]
    public void A_record_from_the_other_direction_is_rejected()
    {
        // Reflection: the server's own record sent back to it must not open (keys differ per direction).
        (_, SecureSession server) = Connect();
        byte[] body = Frames(server.Seal(MessageType.ApplicationData, "echo"u8))[0];
        Assert.Equal(ProtocolError.BadRecordMac, Assert.Throws<ParleyProtocolException>(() => server.Open(body)).Error);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Automatic_key_updates_rotate_keys_across_the_boundary(string suite)
    {
        RecordLimits limits = new() { KeyUpdateInterval = 3 };
        (SecureSession client, SecureSession server) = Connect(suite, limits);
        List<byte[]> frames = [];
        for (int i = 0; i < 10; i++)
        {
            frames.AddRange(Frames(client.Seal(MessageType.ApplicationData, BitConverter.GetBytes(i))));
        }
        // The Finished consumed one record of epoch 0, so updates come after records 2, 5 and 8.
        Assert.Equal(13, frames.Count);
        Assert.Equal(3UL, client.SendEpoch);
        int received = 0;
        foreach (byte[] frame in frames)
        {
            (MessageType type, byte[] payload) = server.Open(frame);
            if (type == MessageType.ApplicationData)
            {
                Assert.Equal(received++, BitConverter.ToInt32(payload));
            }
        }
        Assert.Equal(10, received);
        Assert.Equal(3UL, server.ReceiveEpoch);
    }

    [Fact]
    public void Key_update_on_demand_and_old_keys_no_longer_open()
    {
        (SecureSession client, SecureSession server) = Connect();
        byte[] before = Frames(client.Seal(MessageType.ApplicationData, "epoch 0"u8))[0];
        client.RequestKeyUpdate();
        List<byte[]> after = Frames(client.Seal(MessageType.ApplicationData, "epoch 1"u8));
        Assert.Equal(2, after.Count);
        Assert.Equal((byte)MessageType.KeyUpdate, after[0][0]);
        Assert.Equal("epoch 0"u8.ToArray(), server.Open(before).Payload);
        Assert.Equal(MessageType.KeyUpdate, server.Open(after[0]).Type);
        Assert.Equal("epoch 1"u8.ToArray(), server.Open(after[1]).Payload);
        Assert.Equal(1UL, server.ReceiveEpoch);
        // Skipping the KeyUpdate record leaves the receiver on the old key: the next record fails.
        (client, server) = Connect();
        client.RequestKeyUpdate();
        List<byte[]> skipped = Frames(client.Seal(MessageType.ApplicationData, "x"u8));
        Assert.Equal(ProtocolError.BadRecordMac, Assert.Throws<ParleyProtocolException>(() => server.Open(skipped[1])).Error);
    }

    [Fact]
    public void Oversized_payloads_are_refused_when_sealing_and_opening()
    {
        RecordLimits limits = new() { MaxPlaintextLength = 100 };
        (SecureSession client, SecureSession server) = Connect(limits: limits);
        Assert.Throws<ArgumentException>(() => client.Seal(MessageType.ApplicationData, new byte[101]));
        Assert.Equal(1 + 100 + 16, server.MaxFrameBodyLength);
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ParleyProtocolException>(() => server.Open(new byte[server.MaxFrameBodyLength + 1])).Error);
    }

    [Fact]
    public void Unknown_record_types_are_unexpected()
    {
        (_, SecureSession server) = Connect();
        byte[] body = new byte[40];
        body[0] = 0x01;
        Assert.Equal(ProtocolError.UnexpectedMessage, Assert.Throws<ParleyProtocolException>(() => server.Open(body)).Error);
    }

    /// <summary>
    /// A peer may update its keys at any time, but not 33 times in a row with nothing between
    /// (PROTOCOL.md §6.4): each KeyUpdate is a key derivation for the receiver and nothing to
    /// deliver, and a stream of them kept one receive call, and the server thread it ran on, busy
    /// for as long as the peer liked (found by review: 100,000 in one call, 2.1 MB, 0.6 s).
    /// </summary>
    [Fact]
    public void Thirty_two_key_updates_in_a_row_open_and_the_thirty_third_is_unexpected()
    {
        (SecureSession client, SecureSession server) = Connect();
        // The client's Finished took sequence 0 of its first key.
        HandSealedRecords peer = new(client.ExportSecretsForTesting().Send, 1);
        foreach (byte[] frame in Frames(peer.KeyUpdates(RecordLimits.MaxKeyUpdatesInARow)))
        {
            Assert.Equal(MessageType.KeyUpdate, server.Open(frame).Type);
        }
        // Another record between them starts the count again.
        Assert.Equal("between"u8.ToArray(), server.Open(Frames(peer.Seal(MessageType.ApplicationData, "between"u8))[0]).Payload);
        foreach (byte[] frame in Frames(peer.KeyUpdates(RecordLimits.MaxKeyUpdatesInARow)))
        {
            Assert.Equal(MessageType.KeyUpdate, server.Open(frame).Type);
        }
        Assert.Equal((ulong)(2 * RecordLimits.MaxKeyUpdatesInARow), server.ReceiveEpoch);
        ParleyProtocolException refused = Assert.Throws<ParleyProtocolException>(() => server.Open(Frames(peer.KeyUpdates(1))[0]));
        Assert.Equal(ProtocolError.UnexpectedMessage, refused.Error);
        Assert.Contains("KeyUpdate records in a row", refused.Message);
    }

    [Fact]
    public void Our_sender_never_sends_two_key_updates_in_a_row_even_updating_at_every_record()
    {
        (SecureSession client, SecureSession server) = Connect(limits: new RecordLimits { KeyUpdateInterval = 1 });
        List<byte[]> frames = [];
        for (int i = 0; i < 3 * RecordLimits.MaxKeyUpdatesInARow; i++)
        {
            client.RequestKeyUpdate();
            client.RequestKeyUpdate();
            frames.AddRange(Frames(client.Seal(MessageType.ApplicationData, [(byte)i])));
        }
        Assert.Equal(6 * RecordLimits.MaxKeyUpdatesInARow, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(i % 2 == 0 ? MessageType.KeyUpdate : MessageType.ApplicationData, server.Open(frames[i]).Type);
        }
    }
}
