using System.Security.Cryptography;

namespace Parley.Crypto.Signing;

/// <summary>
/// A public key's fingerprint in the style of <c>ssh-keygen -l</c>: "SHA256:" and the unpadded
/// base64 of SHA-256 over the algorithm name, a zero byte and the raw public key. Binding the
/// name means an Ed25519 and an ECDSA key can never share a fingerprint.
/// </summary>
public static class Fingerprint
{
    public static string Of(SignatureAlgorithm algorithm, ReadOnlySpan<byte> publicKey) => Of(algorithm.Name, publicKey);

    public static string Of(string algorithmName, ReadOnlySpan<byte> publicKey)
    {
        using IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.ASCII.GetBytes(algorithmName));
        hash.AppendData([0]);
        hash.AppendData(publicKey);
        return "SHA256:" + Convert.ToBase64String(hash.GetHashAndReset()).TrimEnd('=');
    }

    /// <summary>Compares two fingerprints exactly, ignoring a missing "SHA256:" prefix and trailing '='.</summary>
    public static bool Matches(string expected, string actual)
    {
        static string Normalise(string s)
        {
            s = s.Trim().TrimEnd('=');
            return s.StartsWith("SHA256:", StringComparison.Ordinal) ? s : "SHA256:" + s;
        }
        return string.Equals(Normalise(expected), Normalise(actual), StringComparison.Ordinal);
    }
}
