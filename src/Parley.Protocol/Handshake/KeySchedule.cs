// PROTOCOL.md §6: the key schedule.
//   PRK            = HKDF-Extract(salt = TH, IKM = Z)
//   c2s_secret     = HKDF-Expand(PRK, "parley/1 c2s traffic", 32)
//   s2c_secret     = HKDF-Expand(PRK, "parley/1 s2c traffic", 32)
//   finished_key   = HKDF-Expand(PRK, "parley/1 c2s finished", 32)
//   verify_data    = HMAC-SHA256(finished_key, TH)
//   resumption_secret = HKDF-Expand(PRK, "parley/1 resumption", 32)      (§5.8)
// A resumed handshake (§5.9) mixes the ticket's resumption secret (the PSK) in before Z:
//   psk_salt       = HKDF-Extract(salt = PSK, IKM = TH)   (= HMAC-SHA256(PSK, TH))
//   PRK            = HKDF-Extract(salt = psk_salt, IKM = Z)
// so the keys need both the PSK (who the peer is) and the fresh Z (forward secrecy).
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
    internal static readonly byte[] ResumptionLabel = Encoding.ASCII.GetBytes("parley/1 resumption");
    internal static readonly byte[] ServerSignatureContext = Encoding.ASCII.GetBytes("parley/1 server signature\0");
    internal static readonly byte[] ClientSignatureContext = Encoding.ASCII.GetBytes("parley/1 client signature\0");

    internal const int FinishedSize = 32;

    /// <summary>The full handshake's schedule; <paramref name="psk"/> set for a resumed one (§5.9).</summary>
    internal static HandshakeSecrets Derive(SharedSecret sharedSecret, ReadOnlySpan<byte> transcriptHash, ReadOnlySpan<byte> psk = default)
    {
        using PseudoRandomKey prk = Extract(sharedSecret, transcriptHash, psk);
        return Expand(prk);
    }

    /// <summary>PRK: HKDF-Extract(salt = TH, IKM = Z), or with a PSK HKDF-Extract(salt = HMAC-SHA256(PSK, TH), IKM = Z).</summary>
    internal static PseudoRandomKey Extract(SharedSecret sharedSecret, ReadOnlySpan<byte> transcriptHash, ReadOnlySpan<byte> psk)
    {
        if (psk.IsEmpty)
        {
            return sharedSecret.Extract(transcriptHash);
        }
        Span<byte> pskSalt = stackalloc byte[PseudoRandomKey.Size];
        try
        {
            HkdfSha256.Default.Extract(transcriptHash, psk, pskSalt);
            return sharedSecret.Extract(pskSalt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pskSalt);
        }
    }

    private static HandshakeSecrets Expand(PseudoRandomKey prk)
    {
        TrafficSecret c2s = TrafficSecret.Expand(prk, ClientToServerLabel);
        TrafficSecret s2c = TrafficSecret.Expand(prk, ServerToClientLabel);
        byte[] finishedKey = new byte[FinishedSize];
        prk.Expand(FinishedLabel, finishedKey);
        byte[] resumption = new byte[SessionTickets.SecretSize];
        prk.Expand(ResumptionLabel, resumption);
        return new HandshakeSecrets(c2s, s2c, finishedKey, resumption);
    }

    /// <summary>The bytes the server signs: a context string, then SHA-256(transcript || ServerHello signed part).</summary>
    internal static byte[] ServerSignatureInput(ReadOnlySpan<byte> hash) => [.. ServerSignatureContext, .. hash];

    /// <summary>The bytes a client signs in ClientIdentity: a context string, then TH.</summary>
    internal static byte[] ClientSignatureInput(ReadOnlySpan<byte> transcriptHash) => [.. ClientSignatureContext, .. transcriptHash];

    internal static byte[] ComputeVerifyData(ReadOnlySpan<byte> finishedKey, ReadOnlySpan<byte> transcriptHash) =>
        HMACSHA256.HashData(finishedKey, transcriptHash);
}

/// <summary>The output of the key schedule; the caller hands the traffic secrets to a session and wipes the rest.</summary>
internal sealed class HandshakeSecrets(TrafficSecret clientToServer, TrafficSecret serverToClient, byte[] finishedKey, byte[] resumptionSecret) : IDisposable
{
    internal TrafficSecret ClientToServer { get; } = clientToServer;
    internal TrafficSecret ServerToClient { get; } = serverToClient;
    internal byte[] FinishedKey { get; } = finishedKey;

    /// <summary>§5.8's resumption_secret: what a ticket from this session stands for. Copy it before Dispose.</summary>
    internal byte[] ResumptionSecret { get; } = resumptionSecret;

    /// <summary>Wipes the finished key and the resumption secret: the traffic secrets belong to the session by now.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(FinishedKey);
        CryptographicOperations.ZeroMemory(ResumptionSecret);
    }
}
