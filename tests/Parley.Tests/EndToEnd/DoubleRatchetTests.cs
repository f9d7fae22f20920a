using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Ratchet;
using Parley.EndToEnd.Session;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>
/// The Double Ratchet through the session API: conversations, loss and reordering within the bound,
/// the bound reported, and every failed decryption leaving the state byte-for-byte unchanged.
/// </summary>
public sealed class DoubleRatchetTests : IDisposable
{
    private readonly ResponderDevice _bob = new();
    private readonly IdentityKeyPair _alice = IdentityKeyPair.Generate();
    private readonly E2eSession _aliceSession;
    private readonly E2eSession _bobSession;

    public DoubleRatchetTests()
    {
        (_aliceSession, _bobSession) = E2eSessionTests.Establish(_bob, _alice);
        // One reply, so both sides are Established and have a full DH ratchet step behind them.
        Assert.Equal(Utf8("ready"), _aliceSession.Decrypt(_bobSession.Encrypt(Utf8("ready"))));
    }

    public void Dispose()
    {
        _aliceSession.Dispose();
        _bobSession.Dispose();
        _alice.Dispose();
        _bob.Dispose();
    }

    private void AssertUnchangedOnFailure(E2eSession session, byte[] envelope, E2eError expected)
    {
        byte[] before = session.Serialize();
        E2eProtocolException error = Assert.Throws<E2eProtocolException>(() => session.Decrypt(envelope));
        Assert.Equal(expected, error.Error);
        Assert.Equal(before, session.Serialize());
    }

    [Fact]
    public void A_conversation_with_many_turns_round_trips()
    {
        for (int turn = 0; turn < 10; turn++)
        {
            for (int i = 0; i < turn % 3 + 1; i++)
            {
                Assert.Equal(Utf8($"a{turn}.{i}"), _bobSession.Decrypt(_aliceSession.Encrypt(Utf8($"a{turn}.{i}"))));
            }
            Assert.Equal(Utf8($"b{turn}"), _aliceSession.Decrypt(_bobSession.Encrypt(Utf8($"b{turn}"))));
        }
        Assert.Equal([], _bobSession.Decrypt(_aliceSession.Encrypt([])));
    }

    [Fact]
    public void Out_of_order_messages_within_the_bound_all_decrypt_and_their_keys_are_removed()
    {
        byte[][] sent = Enumerable.Range(0, 6).Select(i => _aliceSession.Encrypt(Utf8($"m{i}"))).ToArray();
        foreach (int i in new[] { 5, 0, 3, 1, 4, 2 })
        {
            Assert.Equal(Utf8($"m{i}"), _bobSession.Decrypt(sent[i]));
        }
        Assert.Equal(0, _bobSession.SkippedMessageKeyCount);
    }

    [Fact]
    public void Messages_from_a_previous_chain_arrive_after_a_ratchet_step()
    {
        byte[] late = _aliceSession.Encrypt(Utf8("late"));
        byte[] onTime = _aliceSession.Encrypt(Utf8("on time"));
        Assert.Equal(Utf8("on time"), _bobSession.Decrypt(onTime));
        Assert.Equal(Utf8("reply"), _aliceSession.Decrypt(_bobSession.Encrypt(Utf8("reply"))));
        byte[] nextChain = _aliceSession.Encrypt(Utf8("next chain"));
        Assert.Equal(Utf8("next chain"), _bobSession.Decrypt(nextChain));
        Assert.Equal(Utf8("late"), _bobSession.Decrypt(late));
        Assert.Equal(0, _bobSession.SkippedMessageKeyCount);
    }

    [Fact]
    public void Lost_messages_do_not_stop_later_ones()
    {
        for (int i = 0; i < 5; i++)
        {
            _aliceSession.Encrypt(Utf8("lost"));
        }
        Assert.Equal(Utf8("arrives"), _bobSession.Decrypt(_aliceSession.Encrypt(Utf8("arrives"))));
        Assert.Equal(5, _bobSession.SkippedMessageKeyCount);
        Assert.Equal(Utf8("answer"), _aliceSession.Decrypt(_bobSession.Encrypt(Utf8("answer"))));
    }

    [Fact]
    public void Skipping_beyond_the_bound_is_reported_and_changes_nothing()
    {
        byte[] first = _aliceSession.Encrypt(Utf8("first"));
        for (int i = 0; i < RatchetLimits.MaxSkip; i++)
        {
            _aliceSession.Encrypt(Utf8("dropped"));
        }
        byte[] tooFar = _aliceSession.Encrypt(Utf8("too far"));
        AssertUnchangedOnFailure(_bobSession, tooFar, E2eError.TooManySkippedMessages);
        Assert.Equal(Utf8("first"), _bobSession.Decrypt(first));
        // Now exactly MaxSkip keys lie between: within the bound.
        Assert.Equal(Utf8("too far"), _bobSession.Decrypt(tooFar));
        Assert.Equal(RatchetLimits.MaxSkip, _bobSession.SkippedMessageKeyCount);
    }

    [Fact]
    public void Past_the_store_limit_the_oldest_skipped_key_is_discarded_and_its_message_reported()
    {
        byte[]? oldest = null;
        for (int chain = 0; chain < 3; chain++)
        {
            int lost = chain < 2 ? RatchetLimits.MaxSkip : 1;
            for (int i = 0; i < lost; i++)
            {
                byte[] envelope = _aliceSession.Encrypt(Utf8("lost"));
                oldest ??= envelope;
            }
            Assert.Equal(Utf8("kept"), _bobSession.Decrypt(_aliceSession.Encrypt(Utf8("kept"))));
            Assert.Equal(Utf8("turn"), _aliceSession.Decrypt(_bobSession.Encrypt(Utf8("turn"))));
        }
        Assert.Equal(RatchetLimits.MaxSkippedMessageKeys, _bobSession.SkippedMessageKeyCount);
        AssertUnchangedOnFailure(_bobSession, oldest!, E2eError.DuplicateMessage);
    }

    [Fact]
    public void A_seeded_random_schedule_of_loss_reordering_replay_and_restarts_delivers_each_message_once()
    {
        Random random = new(20261203);
        E2eSession alice = _aliceSession, bob = _bobSession;
        List<(bool ToBob, byte[] Envelope, string Text)> inFlight = [];
        HashSet<string> delivered = [];
        List<E2eSession> restored = [];
        for (int step = 0; step < 400; step++)
        {
            int action = random.Next(10);
            if (action < 4)
            {
                bool toBob = random.Next(2) == 0;
                string text = $"m{step}";
                inFlight.Add((toBob, (toBob ? alice : bob).Encrypt(Utf8(text)), text));
            }
            else if (action < 8 && inFlight.Count > 0)
            {
                int index = random.Next(inFlight.Count);
                (bool toBob, byte[] envelope, string text) = inFlight[index];
                if (random.Next(4) > 0)
                {
                    inFlight.RemoveAt(index); // else it stays in flight: delivered again later, a replay
                }
                E2eSession receiver = toBob ? bob : alice;
                if (receiver.TryDecrypt(envelope, out byte[] plaintext, out E2eError error))
                {
                    Assert.True(delivered.Add(text), $"{text} delivered twice");
                    Assert.Equal(Utf8(text), plaintext);
                }
                else
                {
                    Assert.Equal(E2eError.DuplicateMessage, error);
                    Assert.Contains(text, delivered);
                }
            }
            else if (action == 8 && inFlight.Count > 0)
            {
                inFlight.RemoveAt(random.Next(inFlight.Count)); // lost
            }
            else
            {
                alice = E2eSession.Deserialize(alice.Serialize());
                bob = E2eSession.Deserialize(bob.Serialize());
                restored.Add(alice);
                restored.Add(bob);
            }
        }
        Assert.True(delivered.Count > 100, $"only {delivered.Count} delivered");
        restored.ForEach(s => s.Dispose());
    }

    [Theory]
    [InlineData(-1)]    // tag
    [InlineData(-17)]   // last ciphertext byte
    [InlineData(2)]     // ratchet key in the header
    [InlineData(37)]    // PN
    [InlineData(41)]    // N
    public void A_tampered_message_fails_and_changes_nothing(int index)
    {
        byte[] envelope = _aliceSession.Encrypt(Utf8("genuine"));
        byte[] tampered = Flip(envelope, index);
        byte[] before = _bobSession.Serialize();
        Assert.False(_bobSession.TryDecrypt(tampered, out byte[] plaintext, out E2eError error));
        Assert.Empty(plaintext);
        Assert.True(error is E2eError.DecryptionFailed or E2eError.InvalidPublicKey or E2eError.TooManySkippedMessages, error.ToString());
        Assert.Equal(before, _bobSession.Serialize());
        Assert.Equal(Utf8("genuine"), _bobSession.Decrypt(envelope));
    }

    [Fact]
    public void A_forged_message_under_a_new_ratchet_key_changes_nothing()
    {
        byte[] envelope = _aliceSession.Encrypt(Utf8("genuine"));
        RatchetKeyPair attacker = RatchetKeyPair.Generate(SystemE2eRandom.Instance);
        attacker.PublicKey.CopyTo(envelope.AsSpan(2));
        AssertUnchangedOnFailure(_bobSession, envelope, E2eError.DecryptionFailed);
    }

    [Fact]
    public void A_truncated_message_fails_and_changes_nothing()
    {
        byte[] envelope = _aliceSession.Encrypt(Utf8("genuine"));
        AssertUnchangedOnFailure(_bobSession, envelope[..^1], E2eError.DecryptionFailed);
        AssertUnchangedOnFailure(_bobSession, envelope[..(2 + RatchetHeader.EncodedSize + 15)], E2eError.MalformedData);
        AssertUnchangedOnFailure(_bobSession, envelope[..10], E2eError.MalformedData);
    }

    [Fact]
    public void A_replayed_message_is_a_duplicate_and_changes_nothing()
    {
        byte[] envelope = _aliceSession.Encrypt(Utf8("once"));
        Assert.Equal(Utf8("once"), _bobSession.Decrypt(envelope));
        AssertUnchangedOnFailure(_bobSession, envelope, E2eError.DuplicateMessage);
    }

    [Fact]
    public void A_replayed_skipped_message_is_a_duplicate()
    {
        byte[] early = _aliceSession.Encrypt(Utf8("early"));
        Assert.Equal(Utf8("later"), _bobSession.Decrypt(_aliceSession.Encrypt(Utf8("later"))));
        Assert.Equal(Utf8("early"), _bobSession.Decrypt(early));
        AssertUnchangedOnFailure(_bobSession, early, E2eError.DuplicateMessage);
    }

    [Fact]
    public void A_replay_from_a_finished_chain_is_a_duplicate()
    {
        byte[] old = _aliceSession.Encrypt(Utf8("old chain"));
        Assert.Equal(Utf8("old chain"), _bobSession.Decrypt(old));
        Assert.Equal(Utf8("turn"), _aliceSession.Decrypt(_bobSession.Encrypt(Utf8("turn"))));
        Assert.Equal(Utf8("new chain"), _bobSession.Decrypt(_aliceSession.Encrypt(Utf8("new chain"))));
        AssertUnchangedOnFailure(_bobSession, old, E2eError.DuplicateMessage);
    }

    [Fact]
    public void A_message_for_another_session_fails_and_changes_nothing()
    {
        using ResponderDevice carol = new();
        (E2eSession aliceToCarol, E2eSession carolSession) = E2eSessionTests.Establish(carol, _alice);
        aliceToCarol.Decrypt(carolSession.Encrypt(Utf8("established")));
        byte[] toCarol = aliceToCarol.Encrypt(Utf8("for carol"));
        AssertUnchangedOnFailure(_bobSession, toCarol, E2eError.DecryptionFailed);
        aliceToCarol.Dispose();
        carolSession.Dispose();
    }

    [Fact]
    public void Session_state_survives_persistence_mid_conversation()
    {
        byte[] inFlight = _aliceSession.Encrypt(Utf8("in flight"));
        byte[] skippedAhead = _aliceSession.Encrypt(Utf8("ahead"));
        Assert.Equal(Utf8("ahead"), _bobSession.Decrypt(skippedAhead));

        byte[] aliceState = _aliceSession.Serialize();
        byte[] bobState = _bobSession.Serialize();
        using E2eSession alice = E2eSession.Deserialize(aliceState);
        using E2eSession bob = E2eSession.Deserialize(bobState);
        Assert.Equal(aliceState, alice.Serialize());
        Assert.Equal(bobState, bob.Serialize());
        Assert.Equal(E2eSessionState.Established, alice.State);
        Assert.Equal(_alice.PublicKey, bob.TheirIdentity);

        Assert.Equal(Utf8("in flight"), bob.Decrypt(inFlight));
        Assert.Equal(Utf8("after"), alice.Decrypt(bob.Encrypt(Utf8("after"))));
        Assert.Equal(Utf8("and on"), bob.Decrypt(alice.Encrypt(Utf8("and on"))));
    }

    [Fact]
    public void Each_message_uses_a_fresh_key_so_equal_plaintexts_differ()
    {
        byte[] one = _aliceSession.Encrypt(Utf8("same"));
        byte[] two = _aliceSession.Encrypt(Utf8("same"));
        Assert.NotEqual(one[^20..], two[^20..]);
    }
}
