// The Double Ratchet (Signal, revision 4) over X25519, as functions on a RatchetState:
// RatchetEncrypt, RatchetDecrypt with TrySkippedMessageKeys, SkipMessageKeys and DHRatchet (§3.3–3.5).
// Decrypt mutates the state it is given; callers give it a copy and keep the copy only when
// Decrypt returns (E2eSession does). Not responsible for: envelopes, PQXDH, persistence, IO.
using System.Security.Cryptography;
using Parley.Crypto.Kdf;
using Parley.Crypto.KeyAgreement;
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Prekeys;

namespace Parley.EndToEnd.Ratchet;

internal static class DoubleRatchet
{
    /// <summary>The initiator: RK_0 from SK, a fresh DHs, and the first sending chain against the responder's signed prekey.</summary>
    public static RatchetState InitialiseInitiator(PseudoRandomKey sharedKey, ReadOnlySpan<byte> theirSignedPrekey, IE2eRandom random)
    {
        RatchetState state = new(RatchetKeyPair.Generate(random), RootKey.FromSharedKey(sharedKey));
        try
        {
            state.ReceivingRatchetKey = theirSignedPrekey.ToArray();
            using SharedSecret dh = state.SendingRatchetKey.Agree(theirSignedPrekey);
            (state.RootKey, state.SendingChain) = state.RootKey.Step(dh);
            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The responder: RK_0 from SK, DHs = the signed prekey, no chains yet. The signed prekey is not
    /// a receiving key (the initiator never sends under it), so DHr stays empty.
    /// </summary>
    public static RatchetState InitialiseResponder(PseudoRandomKey sharedKey, SignedPrekeyPair ourSignedPrekey) =>
        new(RatchetKeyPair.From(ourSignedPrekey.Key), RootKey.FromSharedKey(sharedKey));

    public static (RatchetHeader Header, byte[] Ciphertext) Encrypt(RatchetState state, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        if (state.SendingChain is null)
        {
            throw new E2eProtocolException(E2eError.UnexpectedMessage, "no sending chain yet: the responder sends only after its first decryption");
        }
        if (state.SendCount == uint.MaxValue)
        {
            throw new E2eProtocolException(E2eError.CounterExhausted, "the sending chain is exhausted");
        }
        (MessageKey messageKey, ChainKey next) = state.SendingChain.Step();
        state.SendingChain = next;
        using (messageKey)
        {
            RatchetHeader header = new(state.SendingRatchetKey.PublicKey, state.PreviousSendCount, state.SendCount);
            state.SendCount++;
            return (header, messageKey.Encrypt(plaintext, Concat(associatedData, header)));
        }
    }

    public static byte[] Decrypt(RatchetState state, RatchetHeader header, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, IE2eRandom random)
    {
        byte[] fullAssociatedData = Concat(associatedData, header);

        int skippedIndex = state.Skipped.FindIndex(s => s.Matches(header.RatchetKey, header.MessageNumber));
        if (skippedIndex >= 0)
        {
            SkippedMessageKey skipped = state.Skipped[skippedIndex];
            byte[] fromSkipped = DecryptWith(skipped.Key, ciphertext, fullAssociatedData);
            state.Skipped.RemoveAt(skippedIndex);
            skipped.Dispose();
            return fromSkipped;
        }

        bool currentChain = state.ReceivingChain is not null && state.ReceivingRatchetKey is not null
            && CryptographicOperations.FixedTimeEquals(state.ReceivingRatchetKey, header.RatchetKey);
        if (currentChain && header.MessageNumber < state.ReceiveCount)
        {
            throw new E2eProtocolException(E2eError.DuplicateMessage, "message number already received in this chain");
        }
        if (!currentChain && state.RetiredReceivingKeys.Exists(k => CryptographicOperations.FixedTimeEquals(k, header.RatchetKey)))
        {
            throw new E2eProtocolException(E2eError.DuplicateMessage, "message from a finished chain whose key is not stored");
        }
        if (!currentChain)
        {
            SkipMessageKeys(state, header.PreviousChainLength);
            DiffieHellmanRatchet(state, header, random);
        }
        SkipMessageKeys(state, header.MessageNumber);

        if (state.ReceiveCount == uint.MaxValue)
        {
            throw new E2eProtocolException(E2eError.CounterExhausted, "the receiving chain is exhausted");
        }
        (MessageKey messageKey, ChainKey next) = state.ReceivingChain!.Step();
        state.ReceivingChain = next;
        state.ReceiveCount++;
        using (messageKey)
        {
            return DecryptWith(messageKey, ciphertext, fullAssociatedData);
        }
    }

    private static byte[] DecryptWith(MessageKey key, ReadOnlySpan<byte> ciphertext, byte[] associatedData) =>
        key.TryDecrypt(ciphertext, associatedData, out byte[] plaintext)
            ? plaintext
            : throw new E2eProtocolException(E2eError.DecryptionFailed, "the message does not authenticate");

    /// <summary>Derives and stores the receiving chain's keys up to (not including) <paramref name="until"/>.</summary>
    private static void SkipMessageKeys(RatchetState state, uint until)
    {
        if (state.ReceivingChain is null || until <= state.ReceiveCount)
        {
            return;
        }
        if (until - state.ReceiveCount > RatchetLimits.MaxSkip)
        {
            throw new E2eProtocolException(E2eError.TooManySkippedMessages,
                $"the message would skip {until - state.ReceiveCount} keys, at most {RatchetLimits.MaxSkip}");
        }
        while (state.ReceiveCount < until)
        {
            (MessageKey messageKey, ChainKey next) = state.ReceivingChain.Step();
            state.ReceivingChain = next;
            state.Skipped.Add(new SkippedMessageKey(state.ReceivingRatchetKey!.ToArray(), state.ReceiveCount, messageKey));
            state.ReceiveCount++;
            if (state.Skipped.Count > RatchetLimits.MaxSkippedMessageKeys)
            {
                state.Skipped[0].Dispose();
                state.Skipped.RemoveAt(0);
            }
        }
    }

    private static void DiffieHellmanRatchet(RatchetState state, RatchetHeader header, IE2eRandom random)
    {
        if (state.ReceivingRatchetKey is not null && state.ReceivingChain is not null)
        {
            state.RetiredReceivingKeys.Add(state.ReceivingRatchetKey);
            if (state.RetiredReceivingKeys.Count > RatchetLimits.MaxRetiredReceivingChains)
            {
                state.RetiredReceivingKeys.RemoveAt(0);
            }
        }
        state.PreviousSendCount = state.SendCount;
        state.SendCount = 0;
        state.ReceiveCount = 0;
        state.ReceivingRatchetKey = header.RatchetKey.ToArray();

        using (SharedSecret receiving = state.SendingRatchetKey.Agree(header.RatchetKey))
        {
            state.ReceivingChain?.Dispose();
            (state.RootKey, state.ReceivingChain) = state.RootKey.Step(receiving);
        }
        state.SendingRatchetKey.Dispose();
        state.SendingRatchetKey = RatchetKeyPair.Generate(random);
        using (SharedSecret sending = state.SendingRatchetKey.Agree(header.RatchetKey))
        {
            state.SendingChain?.Dispose();
            (state.RootKey, state.SendingChain) = state.RootKey.Step(sending);
        }
    }

    /// <summary>AD || encoded header: the AEAD's associated data.</summary>
    internal static byte[] Concat(ReadOnlySpan<byte> associatedData, RatchetHeader header) =>
        new ByteWriter(associatedData.Length + RatchetHeader.EncodedSize).WriteBytes(associatedData).WriteBytes(header.Encode()).ToArray();
}
