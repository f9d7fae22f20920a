using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>
/// What other devices can make this one send by asking for keys, or by sending group messages under
/// keys it does not hold (PROTOCOL.md §14.3): each key once per five minutes, at most a few a minute
/// in all, and a bounded queue while there is no connection.
/// </summary>
public class SenderKeyRequestBoundsTests
{
    private static SenderKeyWant Want(int i, string device = "d1") => new("00112233445566778899aabbccddeeff", "alice", device, (uint)i);

    [Fact]
    public void A_device_is_asked_once_whatever_the_key_id_until_five_minutes_have_passed()
    {
        ManualClock clock = new();
        SenderKeyRequests requests = new(clock);
        Assert.Equal(SenderKeyAsk.Asked, requests.WantAsk(Want(7)));
        Assert.Equal(SenderKeyAsk.AskedBefore, requests.WantAsk(Want(7)));
        // Made-up key ids from the same device buy nothing.
        Assert.Equal(SenderKeyAsk.AskedBefore, requests.WantAsk(Want(8)));
        Assert.Equal([Want(7)], requests.TakeAsks());
        Assert.Empty(requests.TakeAsks());

        clock.Advance(SenderKeyRequests.RepeatAfter - TimeSpan.FromSeconds(1));
        Assert.Equal(SenderKeyAsk.AskedBefore, requests.WantAsk(Want(8)));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(SenderKeyAsk.Asked, requests.WantAsk(Want(8)));
        Assert.Equal(SenderKeyAsk.Asked, requests.WantAsk(Want(8, "d2")));
    }

    [Fact]
    public void Members_sending_from_many_devices_get_at_most_ten_requests_a_minute()
    {
        ManualClock clock = new();
        SenderKeyRequests requests = new(clock);
        int asked = Enumerable.Range(0, 1000).Count(i => requests.WantAsk(Want(i, "device-" + i)) == SenderKeyAsk.Asked);
        Assert.Equal(SenderKeyRequests.AsksPerMinute, asked);
        Assert.Equal(SenderKeyRequests.AsksPerMinute, requests.TakeAsks().Count);
        // Refused for the rate, a device is not marked as asked: its next message asks again.
        Assert.Equal(SenderKeyAsk.NotAsked, requests.WantAsk(Want(999, "device-999")));

        // The bucket refills at its rate: six seconds bring one more, a minute all ten.
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, Enumerable.Range(1000, 100).Count(i => requests.WantAsk(Want(i, "device-" + i)) == SenderKeyAsk.Asked));
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(SenderKeyRequests.AsksPerMinute, Enumerable.Range(2000, 100).Count(i => requests.WantAsk(Want(i, "device-" + i)) == SenderKeyAsk.Asked));
    }

    /// <summary>
    /// A request that never left, pushed out of the queue or refused, does not count as asked: the
    /// next message asks again instead of "still waiting" for five minutes on nothing.
    /// </summary>
    [Fact]
    public void A_request_dropped_from_the_queue_or_refused_is_asked_again_at_the_next_message()
    {
        ManualClock clock = new();
        SenderKeyRequests requests = new(clock);
        Assert.Equal(SenderKeyAsk.Asked, requests.WantAsk(Want(1)));
        List<SenderKeyWant> taken = requests.TakeAsks();
        requests.AskNotSent(taken[0]);
        Assert.Equal(SenderKeyAsk.Asked, requests.WantAsk(Want(2)));
        Assert.Equal(SenderKeyAsk.AskedBefore, requests.WantAsk(Want(3)));

        // Long without a connection, answers (30 a minute can overflow the queue within five minutes):
        // the oldest of 70 waiting are pushed out, and only they may be answered again.
        for (int i = 0; i < 70; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            Assert.True(requests.WantAnswer(Want(i, "device-" + i)));
        }
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(requests.WantAnswer(Want(69, "device-69")));
        Assert.True(requests.WantAnswer(Want(0, "device-0")));
        requests.TakeAnswers();

        Assert.True(requests.WantAnswer(Want(1, "asker")));
        requests.AnswerNotSent(requests.TakeAnswers()[0]);
        Assert.True(requests.WantAnswer(Want(1, "asker")));
    }

    [Fact]
    public void Requests_for_our_key_are_answered_at_most_thirty_a_minute_and_each_device_once()
    {
        ManualClock clock = new();
        SenderKeyRequests requests = new(clock);
        Assert.True(requests.WantAnswer(Want(1)));
        Assert.False(requests.WantAnswer(Want(1)));
        Assert.False(requests.WantAnswer(Want(2)));
        int answered = 1 + Enumerable.Range(0, 500).Count(i => requests.WantAnswer(Want(1, "device-" + i)));
        Assert.Equal(SenderKeyRequests.AnswersPerMinute, answered);
        Assert.Equal(SenderKeyRequests.AnswersPerMinute, requests.TakeAnswers().Count);
        // Asking and answering are paced apart: answers spent no asks.
        Assert.Equal(SenderKeyAsk.Asked, requests.WantAsk(Want(1)));
    }

    [Fact]
    public void Without_a_connection_the_queue_keeps_the_newest_sixty_four_and_what_was_cut_off_goes_first()
    {
        ManualClock clock = new();
        SenderKeyRequests requests = new(clock);
        for (int i = 0; i < 100; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            Assert.True(requests.WantAnswer(Want(i, "device-" + i)));
        }
        List<SenderKeyWant> waiting = requests.TakeAnswers();
        Assert.Equal(SenderKeyRequests.MaxWaiting, waiting.Count);
        Assert.Equal(Want(100 - SenderKeyRequests.MaxWaiting, "device-" + (100 - SenderKeyRequests.MaxWaiting)), waiting[0]);
        Assert.False(requests.HasWork);

        // A connection lost while sending: what was not sent is put back, ahead of what came since, within the bound.
        Assert.True(requests.WantAnswer(Want(500, "late")));
        requests.PutBackAnswers(waiting.Take(3));
        Assert.Equal([.. waiting.Take(3), Want(500, "late")], requests.TakeAnswers());
        requests.PutBackAnswers(Enumerable.Range(0, 100).Select(i => Want(i, "back-" + i)));
        Assert.Equal(SenderKeyRequests.MaxWaiting, requests.TakeAnswers().Count);
    }

    [Fact]
    public void A_request_payload_has_the_layout_of_section_14_3_and_nothing_else_decodes_as_one()
    {
        byte[] groupId = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        E2eMessageId id = E2eMessageId.Read(Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
        byte[] payload = GroupPayloads.EncodeKeyRequest(groupId, 0x89abcdef, id);
        // kind 6 || message id || control 1 || group id || key id (big-endian); §14.7 prints one too (SenderKeyVectorTests).
        Assert.Equal("06f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff01000102030405060708090a0b0c0d0e0f89abcdef", Convert.ToHexStringLower(payload));
        Assert.True(GroupPayloads.TryDecodeKeyRequest(payload, out string group, out uint keyId));
        Assert.Equal(("000102030405060708090a0b0c0d0e0f", 0x89abcdefu), (group, keyId));

        byte[] otherControl = (byte[])payload.Clone();
        otherControl[17] = 2;
        byte[] longer = [.. payload, 0];
        byte[] distributionKind = (byte[])payload.Clone();
        distributionKind[0] = E2ePayload.SenderKeyDistribution;
        foreach (byte[] bad in new[] { otherControl, longer, payload[..^1], distributionKind })
        {
            Assert.False(GroupPayloads.TryDecodeKeyRequest(bad, out _, out _));
        }
    }
}
