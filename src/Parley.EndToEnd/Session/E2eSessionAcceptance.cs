// What accepting an initial message gives the responder: the new session, the first plaintext,
// and the prekeys its store must now delete. Returned only when the first message decrypted, so
// a forged initial message consumes no prekey.
using Parley.EndToEnd.Pqxdh;

namespace Parley.EndToEnd.Session;

public sealed record E2eSessionAcceptance(E2eSession Session, byte[] Plaintext, ConsumedPrekeys ConsumedPrekeys);
