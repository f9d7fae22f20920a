// The names a handshake carries (groups, suites, signature algorithms) are a handful of known words,
// read some ten times per handshake: a name this implementation knows comes back as the one string
// it already holds instead of a new one per read. Unknown names (another implementation's offer)
// are decoded as before.
using System.Text;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;

namespace Parley.Protocol.Wire;

internal static class ProtocolNames
{
    private static readonly (byte[] Bytes, string Name)[] s_known =
    [
        .. KeyAgreementAlgorithms.All.Select(a => a.Name)
            .Concat(AeadAlgorithms.All.Select(a => a.Name))
            .Concat(SignatureAlgorithms.All.Select(a => a.Name))
            .Distinct()
            .Select(name => (Encoding.ASCII.GetBytes(name), name)),
    ];

    /// <summary>The name <paramref name="ascii"/> spells (already checked to be [a-z0-9-]).</summary>
    internal static string Get(ReadOnlySpan<byte> ascii)
    {
        foreach ((byte[] bytes, string name) in s_known)
        {
            if (ascii.SequenceEqual(bytes))
            {
                return name;
            }
        }
        return Encoding.ASCII.GetString(ascii);
    }
}
