// X25519 for the end-to-end layer, through Parley.Crypto (which rejects the all-zero result of a
// low-order peer key, RFC 7748 §6.1). Keys are generated from the injected IE2eRandom so vectors
// can pin them, and are exportable because prekeys and ratchet keys are stored by the caller.
using System.Security.Cryptography;
using Parley.Crypto;
using Parley.Crypto.KeyAgreement;

namespace Parley.EndToEnd.Identity;

internal static class X25519Keys
{
    public const int KeySize = 32;

    public static KeyAgreementAlgorithm Algorithm => KeyAgreementAlgorithms.X25519;

    public static KeyAgreementPrivateKey Generate(IE2eRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<byte> scalar = stackalloc byte[KeySize];
        try
        {
            random.Fill(scalar);
            return Algorithm.ImportPrivateKey(scalar, KeyExportPolicy.AllowExport);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    public static KeyAgreementPrivateKey Import(ReadOnlySpan<byte> privateKey) =>
        Algorithm.ImportPrivateKey(privateKey, KeyExportPolicy.AllowExport);

    /// <summary>DH(ours, theirs); a degenerate peer key is an E2eProtocolException(InvalidPublicKey) naming <paramref name="what"/>.</summary>
    public static SharedSecret Agree(KeyAgreementPrivateKey ours, ReadOnlySpan<byte> theirPublicKey, string what)
    {
        try
        {
            return Algorithm.Agree(ours, theirPublicKey);
        }
        catch (InvalidPublicKeyException e)
        {
            throw new E2eProtocolException(E2eError.InvalidPublicKey, $"{what}: {e.Reason}");
        }
    }
}
