using System.Buffers.Binary;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// Issue 8.3, PROTOCOL.md §4: after the handshake a record above the limit is skipped without
/// being buffered, its sequence number is consumed, and the application is told.
/// </summary>
public class OversizeRecordTests
{
    private const int Limit = 1000;

    private static byte[] Frame(int bodyLength, byte fill = 0x17)
    {
        byte[] frame = new byte[Parley.Protocol.Framing.Frame.HeaderSize + bodyLength];
        BinaryPrimitives.WriteInt32BigEndian(frame, bodyLength);
        frame.AsSpan(Parley.Protocol.Framing.Frame.HeaderSize).Fill(fill);
        return frame;
    }

    /// <summary>Feeds <paramref name="bytes"/> in socket-sized pieces, collecting every event.</summary>
    private static List<(FrameEvent Event, int Length)> Feed(FrameDecoder decoder, byte[] bytes, int chunk = 512)
    {
        List<(FrameEvent, int)> events = [];
        for (int offset = 0; offset < bytes.Length; offset += chunk)
        {
            int count = Math.Min(chunk, bytes.Length - offset);
            bytes.AsSpan(offset, count).CopyTo(decoder.GetBuffer(chunk).Span);
            decoder.Advance(count);
            FrameEvent frameEvent;
            while ((frameEvent = decoder.Read(out ReadOnlyMemory<byte> body)) != FrameEvent.NeedMoreData)
            {
                events.Add((frameEvent, frameEvent == FrameEvent.Frame ? body.Length : decoder.LastSkippedLength));
            }
        }
        return events;
    }

    [Fact]
    public void An_oversize_frame_is_skipped_without_buffering_it_and_the_next_frame_is_read()
    {
        FrameDecoder decoder = new(Limit, initialCapacity: 2048);
        decoder.AllowSkipping(RecordLimits.MaxSkippableFrameBodyLength, maxSkippedFrames: 4);
        byte[] stream = [.. Frame(1_000_000), .. Frame(10)];

        long before = GC.GetAllocatedBytesForCurrentThread();
        List<(FrameEvent Event, int Length)> events = Feed(decoder, stream);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal([(FrameEvent.OversizeFrameSkipped, 1_000_000), (FrameEvent.Frame, 10)], events);
        Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated to skip a 1 MB frame");
        Assert.False(decoder.InsideFrame);
    }

    [Fact]
    public void Only_a_bounded_number_of_oversize_frames_is_skipped()
    {
        FrameDecoder decoder = new(Limit);
        decoder.AllowSkipping(RecordLimits.MaxSkippableFrameBodyLength, maxSkippedFrames: 2);
        Assert.Equal(2, Feed(decoder, [.. Frame(5000), .. Frame(5000)]).Count(e => e.Event == FrameEvent.OversizeFrameSkipped));

        decoder.Append(Frame(5000).AsSpan(0, 8));
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ParleyProtocolException>(() => decoder.Read(out _)).Error);
    }

    [Fact]
    public void A_frame_longer_than_any_record_is_refused_at_once()
    {
        FrameDecoder decoder = new(Limit);
        decoder.AllowSkipping(RecordLimits.MaxSkippableFrameBodyLength, maxSkippedFrames: 100);
        decoder.Append([0x7F, 0xFF, 0xFF, 0xFF]);
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ParleyProtocolException>(() => decoder.Read(out _)).Error);
    }

    [Fact]
    public void A_decoder_that_does_not_allow_skipping_refuses_as_before()
    {
        FrameDecoder decoder = new(Limit);
        decoder.Append(Frame(Limit + 1).AsSpan(0, 4));
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ParleyProtocolException>(() => decoder.Read(out _)).Error);
    }

    [Theory]
    [InlineData("aes-256-gcm")]
    [InlineData("aes-256-cbc-hmac-sha256")]
    public void After_a_skipped_record_the_session_stays_in_step(string suiteName)
    {
        AeadAlgorithm suite = AeadAlgorithms.Get(suiteName);
        RecordLimits small = new() { MaxPlaintextLength = Limit };
        (SecureSession client, SecureSession server, _) = HandshakeHarness.Run(
            HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519, suite),
            HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.X25519, suite, small));
        using (client)
        using (server)
        {
            byte[] stream = [.. client.Seal(MessageType.ApplicationData, new byte[50_000]), .. client.Seal(MessageType.ApplicationData, "next"u8)];
            FrameDecoder decoder = new(server.MaxFrameBodyLength);
            decoder.AllowSkipping(RecordLimits.MaxSkippableFrameBodyLength, maxSkippedFrames: 1);
            decoder.Append(stream);

            Assert.Equal(FrameEvent.OversizeFrameSkipped, decoder.Read(out _));
            SkippedRecord skipped = server.SkipOversizeRecord(decoder.LastSkippedLength);
            Assert.Equal(server.MaxFrameBodyLength, skipped.Limit);
            Assert.True(skipped.Length > 50_000);

            Assert.Equal(FrameEvent.Frame, decoder.Read(out ReadOnlyMemory<byte> body));
            (MessageType type, byte[] payload) = server.Open(body.Span);
            Assert.Equal(MessageType.ApplicationData, type);
            Assert.Equal("next"u8.ToArray(), payload);
        }
    }
}
