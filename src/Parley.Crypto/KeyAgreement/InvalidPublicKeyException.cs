using System.Security.Cryptography;

namespace Parley.Crypto.KeyAgreement;

/// <summary>A peer's public key was rejected; the message says why but never contains the key.</summary>
public sealed class InvalidPublicKeyException : CryptographicException
{
    public InvalidPublicKeyException(string algorithm, string reason)
        : base($"Invalid {algorithm} public key: {reason}.")
    {
        Algorithm = algorithm;
        Reason = reason;
    }

    public string Algorithm { get; }
    public string Reason { get; }
}
