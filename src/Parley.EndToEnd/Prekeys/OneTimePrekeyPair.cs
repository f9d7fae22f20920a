// A one-time prekey with its private key. The responder's key store deletes it once PQXDH
// reports it consumed (PqxdhResponse.ConsumedPrekeys); Dispose wipes it.
using Parley.Crypto.KeyAgreement;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Prekeys;

public sealed class OneTimePrekeyPair : IDisposable
{
    private readonly KeyAgreementPrivateKey _key;

    private OneTimePrekeyPair(KeyAgreementPrivateKey key, uint id)
    {
        _key = key;
        Public = new OneTimePrekey(id, key.PublicKey);
    }

    public OneTimePrekey Public { get; }

    public uint Id => Public.Id;

    public static OneTimePrekeyPair Generate(uint id, IE2eRandom? random = null) =>
        new(X25519Keys.Generate(random ?? SystemE2eRandom.Instance), id);

    public static OneTimePrekeyPair Import(uint id, ReadOnlySpan<byte> privateKey) => new(X25519Keys.Import(privateKey), id);

    /// <summary>The X25519 scalar, to store the prekey; the caller must wipe it.</summary>
    public byte[] ExportPrivateKey() => _key.ExportPrivateKey();

    internal KeyAgreementPrivateKey Key => _key;

    public void Dispose() => _key.Dispose();

    public override string ToString() => $"{nameof(OneTimePrekeyPair)}({Id})";
}
