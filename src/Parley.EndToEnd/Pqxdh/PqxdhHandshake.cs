// PQXDH (Signal, revision 3) over X25519, SHA-256 and ML-KEM-768, as two sans-IO functions.
//   initiator: verify the bundle's signatures (fail closed), EK_A fresh,
//     DH1 = DH(IK_A, SPK_B)  DH2 = DH(EK_A, IK_B)  DH3 = DH(EK_A, SPK_B)  [DH4 = DH(EK_A, OPK_B)]
//     (CT, SS) = ML-KEM-768.Encaps(PQPK_B)
//     SK = PqxdhKdf.DerivePqxdh(ParleyPqxdhInfo, DH1..DH4, SS)
//   responder: the same DHs from its private keys, SS = Decaps(PQPK_B, CT).
// AD = Encode(IK_A) || Encode(IK_B). Not responsible for: storing or deleting prekeys (the caller
// does, from ConsumedPrekeys), trust decisions about identities, or any IO.
using Parley.Crypto.Kdf;
using Parley.Crypto.Kem;
using Parley.Crypto.KeyAgreement;
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Kem;
using Parley.EndToEnd.Prekeys;

namespace Parley.EndToEnd.Pqxdh;

public static class PqxdhHandshake
{
    /// <summary>The initiator's side: a verified bundle in, SK, AD and the header to send out.</summary>
    public static PqxdhOutcome Initiate(IdentityKeyPair ours, PrekeyBundle theirs, IE2eRandom? random = null)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(theirs);
        random ??= SystemE2eRandom.Instance;
        theirs.Verify();

        List<SharedSecret> secrets = new(PqxdhKdf.MaxDiffieHellmanSecrets);
        using KeyAgreementPrivateKey ephemeral = X25519Keys.Generate(random);
        MlKemSharedSecret? kemSecret = null;
        try
        {
            secrets.Add(ours.Agree(theirs.SignedPrekey.PublicKey, "signed prekey"));
            secrets.Add(X25519Keys.Agree(ephemeral, theirs.Identity.AgreementKey, "identity key"));
            secrets.Add(X25519Keys.Agree(ephemeral, theirs.SignedPrekey.PublicKey, "signed prekey"));
            if (theirs.OneTimePrekey is not null)
            {
                secrets.Add(X25519Keys.Agree(ephemeral, theirs.OneTimePrekey.PublicKey, "one-time prekey"));
            }
            (byte[] ciphertext, kemSecret) = MlKem768.Encapsulate(theirs.KemPrekey.PublicKey, random);
            PseudoRandomKey sharedKey = PqxdhKdf.DerivePqxdh(PqxdhKdf.ParleyPqxdhInfo, secrets, kemSecret);
            PqxdhInitialHeader header = new(ours.PublicKey, ephemeral.PublicKey, theirs.SignedPrekey.Id, theirs.OneTimePrekey?.Id, theirs.KemPrekey.Id, ciphertext);
            return new PqxdhOutcome(sharedKey, AssociatedData(ours.PublicKey, theirs.Identity), theirs.Identity, header, new ConsumedPrekeys(null, null));
        }
        finally
        {
            kemSecret?.Dispose();
            secrets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>
    /// The responder's side: the header and the private prekeys it names (the caller looked them up
    /// by <see cref="PqxdhInitialHeader.SignedPrekeyId"/> and friends) in, SK and AD out.
    /// </summary>
    public static PqxdhOutcome Respond(IdentityKeyPair ours, PqxdhInitialHeader header, SignedPrekeyPair signedPrekey, OneTimePrekeyPair? oneTimePrekey, KemPrekeyPair kemPrekey)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(signedPrekey);
        ArgumentNullException.ThrowIfNull(kemPrekey);
        if (header.SignedPrekeyId != signedPrekey.Id || header.KemPrekeyId != kemPrekey.Id || header.OneTimePrekeyId != oneTimePrekey?.Id)
        {
            throw new E2eProtocolException(E2eError.PrekeyMismatch, "the prekeys given are not the ones the initial header names");
        }

        List<SharedSecret> secrets = new(PqxdhKdf.MaxDiffieHellmanSecrets);
        MlKemSharedSecret? kemSecret = null;
        try
        {
            secrets.Add(X25519Keys.Agree(signedPrekey.Key, header.InitiatorIdentity.AgreementKey, "initiator identity key"));
            secrets.Add(ours.Agree(header.EphemeralKey, "ephemeral key"));
            secrets.Add(X25519Keys.Agree(signedPrekey.Key, header.EphemeralKey, "ephemeral key"));
            if (oneTimePrekey is not null)
            {
                secrets.Add(X25519Keys.Agree(oneTimePrekey.Key, header.EphemeralKey, "ephemeral key"));
            }
            kemSecret = kemPrekey.Decapsulate(header.KemCiphertext);
            PseudoRandomKey sharedKey = PqxdhKdf.DerivePqxdh(PqxdhKdf.ParleyPqxdhInfo, secrets, kemSecret);
            ConsumedPrekeys consumed = new(oneTimePrekey?.Id, kemPrekey.Kind == KemPrekeyKind.OneTime ? kemPrekey.Id : null);
            return new PqxdhOutcome(sharedKey, AssociatedData(header.InitiatorIdentity, ours.PublicKey), header.InitiatorIdentity, header, consumed);
        }
        finally
        {
            kemSecret?.Dispose();
            secrets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>AD = Encode(IK_initiator) || Encode(IK_responder).</summary>
    internal static byte[] AssociatedData(IdentityPublicKey initiator, IdentityPublicKey responder) =>
        new ByteWriter(140).WriteBytes(initiator.EncodeForAssociatedData()).WriteBytes(responder.EncodeForAssociatedData()).ToArray();
}
