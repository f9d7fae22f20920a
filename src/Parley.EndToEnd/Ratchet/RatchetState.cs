// The Double Ratchet's state (rev 4 §3.2: DHs, DHr, RK, CKs, CKr, Ns, Nr, PN, MKSKIPPED) plus the
// recently retired receiving ratchet keys used to recognise replays. Clone makes the deep copy
// decryption works on; Write/Read persist it (inside E2eSession's versioned encoding):
//   DHs private (32) || DHs public (32) || u8 has-DHr || [DHr (32)] || RK (32)
//   || u8 has-CKs || [CKs (32)] || u8 has-CKr || [CKr (32)] || u32 Ns || u32 Nr || u32 PN
//   || u8 retired count || retired keys (32 each)
//   || u16 skipped count || skipped entries (ratchet key 32 || u32 N || message key 32)
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Ratchet;

internal sealed class RatchetState : IDisposable
{
    public RatchetState(RatchetKeyPair sendingRatchetKey, RootKey rootKey)
    {
        SendingRatchetKey = sendingRatchetKey;
        RootKey = rootKey;
    }

    public RatchetKeyPair SendingRatchetKey { get; set; }

    public byte[]? ReceivingRatchetKey { get; set; }

    public RootKey RootKey { get; set; }

    public ChainKey? SendingChain { get; set; }

    public ChainKey? ReceivingChain { get; set; }

    public uint SendCount { get; set; }

    public uint ReceiveCount { get; set; }

    public uint PreviousSendCount { get; set; }

    /// <summary>Oldest first, so eviction takes from the front.</summary>
    public List<SkippedMessageKey> Skipped { get; } = [];

    /// <summary>Oldest first, at most <see cref="RatchetLimits.MaxRetiredReceivingChains"/>.</summary>
    public List<byte[]> RetiredReceivingKeys { get; } = [];

    public RatchetState Clone()
    {
        RatchetState copy = new(SendingRatchetKey.Clone(), RootKey.Clone())
        {
            ReceivingRatchetKey = ReceivingRatchetKey?.ToArray(),
            SendingChain = SendingChain?.Clone(),
            ReceivingChain = ReceivingChain?.Clone(),
            SendCount = SendCount,
            ReceiveCount = ReceiveCount,
            PreviousSendCount = PreviousSendCount,
        };
        copy.Skipped.AddRange(Skipped.Select(s => s.Clone()));
        copy.RetiredReceivingKeys.AddRange(RetiredReceivingKeys.Select(k => k.ToArray()));
        return copy;
    }

    public void Write(ByteWriter writer)
    {
        writer.WriteBytes(SendingRatchetKey.PrivateKey).WriteBytes(SendingRatchetKey.PublicKey);
        writer.WriteBoolean(ReceivingRatchetKey is not null);
        if (ReceivingRatchetKey is not null)
        {
            writer.WriteBytes(ReceivingRatchetKey);
        }
        writer.WriteBytes(RootKey.Bytes);
        writer.WriteBoolean(SendingChain is not null);
        if (SendingChain is not null)
        {
            writer.WriteBytes(SendingChain.Bytes);
        }
        writer.WriteBoolean(ReceivingChain is not null);
        if (ReceivingChain is not null)
        {
            writer.WriteBytes(ReceivingChain.Bytes);
        }
        writer.WriteUInt32(SendCount).WriteUInt32(ReceiveCount).WriteUInt32(PreviousSendCount);
        writer.WriteByte(checked((byte)RetiredReceivingKeys.Count));
        RetiredReceivingKeys.ForEach(k => writer.WriteBytes(k));
        writer.WriteUInt16(checked((ushort)Skipped.Count));
        foreach (SkippedMessageKey skipped in Skipped)
        {
            writer.WriteBytes(skipped.RatchetKey).WriteUInt32(skipped.MessageNumber).WriteBytes(skipped.Key.Bytes);
        }
    }

    public static RatchetState Read(ref ByteReader reader)
    {
        const int Key = X25519Keys.KeySize;
        RatchetKeyPair sending = RatchetKeyPair.Import(reader.ReadSpan(Key, "DHs private"), reader.ReadSpan(Key, "DHs public"));
        RatchetState state = new(sending, new RootKey(new byte[RatchetKdf.KeySize]));
        try
        {
            state.ReceivingRatchetKey = reader.ReadBoolean("DHr flag") ? reader.ReadBytes(Key, "DHr") : null;
            state.RootKey.Dispose();
            state.RootKey = new RootKey(reader.ReadBytes(RatchetKdf.KeySize, "RK"));
            state.SendingChain = reader.ReadBoolean("CKs flag") ? new ChainKey(reader.ReadBytes(RatchetKdf.KeySize, "CKs")) : null;
            state.ReceivingChain = reader.ReadBoolean("CKr flag") ? new ChainKey(reader.ReadBytes(RatchetKdf.KeySize, "CKr")) : null;
            state.SendCount = reader.ReadUInt32("Ns");
            state.ReceiveCount = reader.ReadUInt32("Nr");
            state.PreviousSendCount = reader.ReadUInt32("PN");
            int retired = reader.ReadByte("retired count");
            if (retired > RatchetLimits.MaxRetiredReceivingChains)
            {
                throw new E2eProtocolException(E2eError.MalformedData, $"session state: {retired} retired chains, at most {RatchetLimits.MaxRetiredReceivingChains}");
            }
            for (int i = 0; i < retired; i++)
            {
                state.RetiredReceivingKeys.Add(reader.ReadBytes(Key, "retired ratchet key"));
            }
            int skipped = reader.ReadUInt16("skipped count");
            if (skipped > RatchetLimits.MaxSkippedMessageKeys)
            {
                throw new E2eProtocolException(E2eError.MalformedData, $"session state: {skipped} skipped keys, at most {RatchetLimits.MaxSkippedMessageKeys}");
            }
            for (int i = 0; i < skipped; i++)
            {
                byte[] ratchetKey = reader.ReadBytes(Key, "skipped ratchet key");
                uint number = reader.ReadUInt32("skipped N");
                state.Skipped.Add(new SkippedMessageKey(ratchetKey, number, new MessageKey(reader.ReadBytes(RatchetKdf.KeySize, "skipped message key"))));
            }
            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        SendingRatchetKey.Dispose();
        RootKey.Dispose();
        SendingChain?.Dispose();
        ReceivingChain?.Dispose();
        Skipped.ForEach(s => s.Dispose());
        Skipped.Clear();
    }

    public override string ToString() => $"{nameof(RatchetState)}(Ns {SendCount}, Nr {ReceiveCount}, PN {PreviousSendCount}, skipped {Skipped.Count})";
}
