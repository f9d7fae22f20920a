// PQXDH rev 3 §3.3: a bundle carries either a one-time ML-KEM prekey or, when those run out, the
// signed last-resort ML-KEM prekey. The kind is signed with the key, so a server cannot relabel one.
namespace Parley.EndToEnd.Prekeys;

public enum KemPrekeyKind : byte
{
    /// <summary>Used once; the responder deletes it after use.</summary>
    OneTime = 1,

    /// <summary>Reused until replaced; the responder keeps it.</summary>
    LastResort = 2,
}
