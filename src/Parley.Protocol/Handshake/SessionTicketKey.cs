// PROTOCOL.md §5.8: the server's key for sealing session tickets.
//   ticket_key = HKDF-SHA256(salt = "parley/1 ticket key", IKM = identity private key,
//                            info = signature_algorithm || 0x00 || identity public key, L = 32)
//   ticket     = nonce (12 random bytes) || AES-256-GCM(ticket_key, nonce, aad = "parley/1 ticket", contents)
// Derived from the long-term identity, so every node that loads the same identity file opens the
// others' tickets with no shared state, and a new server key makes every old ticket unreadable.
// The nonce is random per ticket: 2^32 tickets under one key keep the GCM collision risk below
// 2^-32 (NIST SP 800-38D §8.3), far more than a server issues in a key's life.
using System.Security.Cryptography;
using System.Text;
using Parley.Crypto.Aead;

namespace Parley.Protocol.Handshake;

/// <summary>
/// The server's ticket key. Thread-safe: one AES-256-GCM key, set up once (libsodium's precomputed
/// state where it runs, else the platform's), used under a lock; a cipher instance per seal and
/// open cost more than the ticket's encryption itself (docs/decisions/0014).
/// </summary>
public sealed class SessionTicketKey : IDisposable
{
    public const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private static readonly byte[] s_salt = Encoding.ASCII.GetBytes("parley/1 ticket key");
    private static readonly byte[] s_associatedData = Encoding.ASCII.GetBytes("parley/1 ticket");

    private readonly byte[] _key;
    private readonly AeadKey _aead;
    private readonly Lock _lock = new();
    private bool _disposed;

    private SessionTicketKey(byte[] key)
    {
        _key = key;
        _aead = AeadAlgorithms.Aes256Gcm.CreateKey(key);
    }

    /// <summary>Derives the ticket key from the server's identity: its private key encoding (as in the identity file), algorithm name and public key.</summary>
    public static SessionTicketKey Derive(ReadOnlySpan<byte> identityPrivateKey, string signatureAlgorithm, ReadOnlySpan<byte> identityPublicKey)
    {
        if (identityPrivateKey.IsEmpty)
        {
            throw new ArgumentException("The identity private key is empty.", nameof(identityPrivateKey));
        }
        byte[] info = [.. Encoding.ASCII.GetBytes(signatureAlgorithm), 0, .. identityPublicKey];
        byte[] key = new byte[KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, identityPrivateKey, key, s_salt, info);
        return new SessionTicketKey(key);
    }

    /// <summary>Seals <paramref name="contents"/> under a fresh random nonce from <paramref name="entropy"/>.</summary>
    internal byte[] Seal(TicketContents contents, HandshakeEntropy entropy)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] plaintext = contents.Encode();
        try
        {
            byte[] ticket = new byte[NonceSize + plaintext.Length + TagSize];
            Span<byte> nonce = ticket.AsSpan(0, NonceSize);
            entropy.FillRandom(nonce);
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                // AeadKey's layout is the ticket's after the nonce: ciphertext, then the 16-byte tag.
                _aead.Seal(nonce, plaintext, s_associatedData, ticket.AsSpan(NonceSize));
            }
            return ticket;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>The contents of a ticket this key sealed; null for anything else (another key, tampered, malformed). The caller disposes them.</summary>
    internal TicketContents? TryOpen(ReadOnlySpan<byte> ticket)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ticket.Length is < NonceSize + TagSize + TicketContents.MinLength or > SessionTickets.MaxTicketLength)
        {
            return null;
        }
        int plaintextLength = ticket.Length - NonceSize - TagSize;
        byte[] plaintext = new byte[plaintextLength];
        try
        {
            bool opened;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                opened = _aead.TryOpen(ticket[..NonceSize], ticket[NonceSize..], s_associatedData, plaintext, out _);
            }
            return opened ? TicketContents.TryDecode(plaintext) : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>For the vectors in PROTOCOL.md only.</summary>
    internal byte[] ExportForTesting() => (byte[])_key.Clone();

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _aead.Dispose();
            CryptographicOperations.ZeroMemory(_key);
        }
    }

    public override string ToString() => nameof(SessionTicketKey);
}
