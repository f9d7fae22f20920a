using System.Security.Cryptography;
using Parley.Protocol.Framing;

namespace Parley.Protocol.Handshake;

/// <summary>
/// The handshake transcript (PROTOCOL.md §6.1): every handshake message as it was framed on the
/// wire (4-byte length, then body), in order. Small enough (≤ 2 KiB) to keep whole.
/// </summary>
internal sealed class Transcript
{
    // A resumed handshake's transcript is ~370 bytes, a full one with an X25519 or P-256 share ~500:
    // room for those, grown for a MODP share.
    private readonly List<byte> _bytes = new(512);

    internal void Add(ReadOnlySpan<byte> messageBody)
    {
        Span<byte> header = stackalloc byte[Frame.HeaderSize];
        Frame.WriteHeader(header, messageBody.Length);
        _bytes.AddRange(header);
        _bytes.AddRange(messageBody);
    }

    /// <summary>SHA-256 of the transcript so far.</summary>
    internal byte[] Hash() => SHA256.HashData(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes));

    /// <summary>SHA-256 of the transcript so far followed by <paramref name="partial"/> (unframed).</summary>
    internal byte[] HashWith(ReadOnlySpan<byte> partial)
    {
        using IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes));
        hash.AppendData(partial);
        return hash.GetHashAndReset();
    }
}
