// PROTOCOL.md §6: the key schedule.
//   PRK            = HKDF-Extract(salt = TH, IKM = Z)
//   c2s_secret     = HKDF-Expand(PRK, "parley/1 c2s traffic", 32)
//   s2c_secret     = HKDF-Expand(PRK, "parley/1 s2c traffic", 32)
//   finished_key   = HKDF-Expand(PRK, "parley/1 c2s finished", 32)
//   verify_data    = HMAC-SHA256(finished_key, TH)
// TH is the transcript hash through the ServerHello, so the keys are bound to the whole
// negotiation, not only to the DH output.
using System.Security.Cryptography;
using System.Text;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Kdf;

namespace Parley.Protocol.Handshake;

internal static class KeySchedule
{
    internal static readonly byte[] ClientToServerLabel = Encoding.ASCII.GetBytes("parley/1 c2s traffic");
    internal static readonly byte[] ServerToClientLabel = Encoding.ASCII.GetBytes("parley/1 s2c traffic");
    internal static readonly byte[] FinishedLabel = Encoding.ASCII.GetBytes("parley/1 c2s finished");
    internal static readonly byte[] ServerSignatureContext = Encoding.ASCII.GetBytes("parley/1 server signature\0");
    internal static readonly byte[] ClientSignatureContext = Encoding.ASCII.GetBytes("parley/1 client signature\0");

    internal const int FinishedSize = 32;

    internal static HandshakeSecrets Derive(SharedSecret sharedSecret, ReadOnlySpan<byte> transcriptHash)
    {
        using PseudoRandomKey prk = sharedSecret.Extract(transcriptHash);
        TrafficSecret c2s = TrafficSecret.Expand(prk, ClientToServerLabel);
        TrafficSecret s2c = TrafficSecret.Expand(prk, ServerToClientLabel);
        byte[] finishedKey = new byte[FinishedSize];
        prk.Expand(FinishedLabel, finishedKey);
        return new HandshakeSecrets(c2s, s2c, finishedKey);
    }

    /// <summary>The bytes the server signs: a context string, then SHA-256(transcript || ServerHello signed part).</summary>
    internal static byte[] ServerSignatureInput(ReadOnlySpan<byte> hash) => [.. ServerSignatureContext, .. hash];

    /// <summary>The bytes a client signs in ClientIdentity: a context string, then TH.</summary>
    internal static byte[] ClientSignatureInput(ReadOnlySpan<byte> transcriptHash) => [.. ClientSignatureContext, .. transcriptHash];

    internal static byte[] ComputeVerifyData(ReadOnlySpan<byte> finishedKey, ReadOnlySpan<byte> transcriptHash) =>
        HMACSHA256.HashData(finishedKey, transcriptHash);
}

/// <summary>The output of the key schedule; the caller hands the traffic secrets to a session and wipes the rest.</summary>
internal sealed class HandshakeSecrets(TrafficSecret clientToServer, TrafficSecret serverToClient, byte[] finishedKey) : IDisposable
{
    internal TrafficSecret ClientToServer { get; } = clientToServer;
    internal TrafficSecret ServerToClient { get; } = serverToClient;
    internal byte[] FinishedKey { get; } = finishedKey;

    /// <summary>Wipes only the finished key: the traffic secrets belong to the session by now.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(FinishedKey);
}
