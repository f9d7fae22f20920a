using Parley.Protocol;
using Parley.Protocol.Framing;

namespace Parley.Tests.Protocol;

public class FramingTests
{
    [Fact]
    public void Frames_split_across_arbitrary_chunks_are_reassembled()
    {
        byte[] stream = [.. Frame.Wrap("one"u8), .. Frame.Wrap(new byte[3000]), .. Frame.Wrap("three"u8)];
        for (int chunk = 1; chunk < 20; chunk++)
        {
            FrameDecoder decoder = new(4096, initialCapacity: 8);
            List<int> lengths = [];
            for (int i = 0; i < stream.Length; i += chunk)
            {
                decoder.Append(stream.AsSpan(i, Math.Min(chunk, stream.Length - i)));
                while (decoder.TryReadFrame(out ReadOnlyMemory<byte> body))
                {
                    lengths.Add(body.Length);
                }
            }
            Assert.Equal([3, 3000, 5], lengths);
            Assert.Equal(0, decoder.BufferedLength);
        }
    }

    [Fact]
    public void Length_zero_is_an_empty_frame_error()
    {
        FrameDecoder decoder = new();
        decoder.Append([0, 0, 0, 0]);
        Assert.Equal(ProtocolError.EmptyFrame, Assert.Throws<ParleyProtocolException>(() => decoder.TryReadFrame(out _)).Error);
    }

    [Fact]
    public void Length_two_to_the_32_minus_one_is_refused_before_any_allocation()
    {
        FrameDecoder decoder = new(maxBodyLength: 1 << 20, initialCapacity: 16);
        decoder.Append([0xFF, 0xFF, 0xFF, 0xFF]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ParleyProtocolException>(() => decoder.TryReadFrame(out _));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ProtocolError.FrameTooLarge, error.Error);
        Assert.Contains("4294967295", error.Message);
        Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated");
    }

    [Fact]
    public void A_truncated_frame_is_not_returned()
    {
        FrameDecoder decoder = new();
        byte[] frame = Frame.Wrap("partial"u8);
        decoder.Append(frame.AsSpan(0, frame.Length - 1));
        Assert.False(decoder.TryReadFrame(out _));
        Assert.Equal(frame.Length - 1, decoder.BufferedLength);
        decoder.Append(frame.AsSpan(frame.Length - 1));
        Assert.True(decoder.TryReadFrame(out ReadOnlyMemory<byte> body));
        Assert.Equal("partial"u8.ToArray(), body.ToArray());
    }

    [Fact]
    public void The_limit_applies_to_the_header_alone()
    {
        FrameDecoder decoder = new(maxBodyLength: 10);
        decoder.Append([0, 0, 0, 11]);
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ParleyProtocolException>(() => decoder.TryReadFrame(out _)).Error);
    }

    [Fact]
    public void A_buffer_grown_by_a_large_frame_is_released_once_empty()
    {
        FrameDecoder decoder = new(maxBodyLength: 1 << 20, initialCapacity: 1024);
        decoder.Append(Frame.Wrap(new byte[100_000]));
        Assert.True(decoder.TryReadFrame(out ReadOnlyMemory<byte> body));
        Assert.Equal(100_000, body.Length);
        decoder.ReleaseBuffer();
        Assert.False(decoder.HoldsBuffer);
        Assert.InRange(decoder.GetBuffer(1).Length, 1024, 100_000);
        decoder.Append(Frame.Wrap("small"u8));
        Assert.True(decoder.TryReadFrame(out body));
        Assert.Equal("small"u8.ToArray(), body.ToArray());
    }

    [Fact]
    public void An_idle_decoder_holds_no_buffer_and_keeps_what_is_half_received()
    {
        FrameDecoder decoder = new(maxBodyLength: 100);
        Assert.False(decoder.HoldsBuffer);
        decoder.Append([0, 0, 0, 5, 1, 2]);
        Assert.False(decoder.TryReadFrame(out _));
        // Half a frame is buffered: releasing now would lose it, so the buffer stays.
        decoder.ReleaseBuffer();
        Assert.True(decoder.HoldsBuffer);
        decoder.Append([3, 4, 5]);
        Assert.True(decoder.TryReadFrame(out ReadOnlyMemory<byte> body));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, body.ToArray());
        decoder.ReleaseBuffer();
        Assert.False(decoder.HoldsBuffer);
    }

    [Fact]
    public void HasCompleteFrame_says_whether_the_next_read_needs_no_more_bytes()
    {
        FrameDecoder decoder = new(maxBodyLength: 8);
        Assert.False(decoder.HasCompleteFrame);
        decoder.Append([0, 0, 0]);
        Assert.False(decoder.HasCompleteFrame);          // part of a header
        decoder.Append([5, 1, 2, 3, 4]);
        Assert.False(decoder.HasCompleteFrame);          // a body one byte short
        decoder.Append([5, 0, 0, 0, 1, 9]);
        Assert.True(decoder.HasCompleteFrame);           // exactly one frame, then part of the next
        Assert.Equal(FrameEvent.Frame, decoder.Read(out _));
        Assert.True(decoder.HasCompleteFrame);
        Assert.Equal(FrameEvent.Frame, decoder.Read(out _));
        Assert.False(decoder.HasCompleteFrame);

        // A zero or oversize length is "complete": the read that follows fails at once, without waiting.
        decoder.Append([0, 0, 0, 0]);
        Assert.True(decoder.HasCompleteFrame);
        Assert.Equal(ProtocolError.EmptyFrame, Assert.Throws<ParleyProtocolException>(() => decoder.Read(out _)).Error);
        FrameDecoder huge = new(maxBodyLength: 8);
        huge.Append([0xff, 0xff, 0xff, 0xff]);
        Assert.False(huge.HasCompleteFrame);             // no overflow: 4 GiB is not buffered
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ParleyProtocolException>(() => huge.Read(out _)).Error);
    }

    [Fact]
    public void A_frame_being_skipped_is_never_complete()
    {
        FrameDecoder decoder = new(maxBodyLength: 4);
        decoder.AllowSkipping(100, 1);
        decoder.Append([0, 0, 0, 10, 1, 2, 3]);
        Assert.False(decoder.HasCompleteFrame);
        Assert.Equal(FrameEvent.NeedMoreData, decoder.Read(out _));
        decoder.Append([0, 0, 0, 0, 0, 0, 0]);
        Assert.False(decoder.HasCompleteFrame);          // conservative: the caller may write before reading
        Assert.Equal(FrameEvent.OversizeFrameSkipped, decoder.Read(out _));
    }
}
