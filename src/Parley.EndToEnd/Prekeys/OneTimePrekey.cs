// The public half of a one-time prekey (OPK): an unsigned X25519 key with an id, used at most once.
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Prekeys;

public sealed class OneTimePrekey
{
    private readonly byte[] _publicKey;

    public OneTimePrekey(uint id, ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != X25519Keys.KeySize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "one-time prekey: wrong key length");
        }
        Id = id;
        _publicKey = publicKey.ToArray();
    }

    public uint Id { get; }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public override string ToString() => $"{nameof(OneTimePrekey)}({Id})";
}
