// Which of the responder's prekeys a PQXDH run used up: the caller's key store deletes exactly
// these (the one-time X25519 prekey, and the ML-KEM prekey if it was a one-time one), and only
// after the first message decrypted.
namespace Parley.EndToEnd.Pqxdh;

public sealed record ConsumedPrekeys(uint? OneTimePrekeyId, uint? KemPrekeyId);
