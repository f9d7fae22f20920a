// What Ed25519 signs in this layer: a label naming the purpose and version, then the fields. The
// label keeps a signature made for one purpose (a prekey) from verifying as another (a binding).
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.Identity;

internal static class SignedData
{
    public static ReadOnlySpan<byte> IdentityBindingLabel => "Parley_E2E_IdentityBinding_v1"u8;
    public static ReadOnlySpan<byte> SignedPrekeyLabel => "Parley_E2E_SignedPrekey_v1"u8;
    public static ReadOnlySpan<byte> KemPrekeyLabel => "Parley_E2E_KemPrekey_v1"u8;

    /// <summary>label || X25519 identity public key.</summary>
    public static byte[] IdentityBinding(ReadOnlySpan<byte> agreementKey) =>
        new ByteWriter(64).WriteBytes(IdentityBindingLabel).WriteBytes(agreementKey).ToArray();

    /// <summary>label || id (u32) || X25519 public key.</summary>
    public static byte[] SignedPrekey(uint id, ReadOnlySpan<byte> publicKey) =>
        new ByteWriter(64).WriteBytes(SignedPrekeyLabel).WriteUInt32(id).WriteBytes(publicKey).ToArray();

    /// <summary>label || kind (u8) || id (u32) || ML-KEM-768 encapsulation key.</summary>
    public static byte[] KemPrekey(byte kind, uint id, ReadOnlySpan<byte> publicKey) =>
        new ByteWriter(publicKey.Length + 40).WriteBytes(KemPrekeyLabel).WriteByte(kind).WriteUInt32(id).WriteBytes(publicKey).ToArray();
}
