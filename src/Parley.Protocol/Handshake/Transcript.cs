using System.Security.Cryptography;
using Parley.Protocol.Framing;

namespace Parley.Protocol.Handshake;

/// <summary>
/// The handshake transcript (PROTOCOL.md §6.1): every handshake message as it was framed on the
/// wire (4-byte length, then body), in order. Small enough (≤ 2 KiB) to keep whole.
/// </summary>
internal sealed class Transcript
{
    // A resumed handshake's transcript is ~370 bytes, a full one 400 - 520 (X25519 and Ed25519 to
    // P-256 and ECDSA with the longest suite name): room for those; a MODP share grows it once.
    private readonly List<byte> _bytes = new(640);

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
