// The session's named phases (libsignal's PreKeySignalMessage rule): the initiator wraps every
// message with the PQXDH header until it has decrypted one reply, because until then it cannot
// know the responder has the session.
namespace Parley.EndToEnd.Session;

public enum E2eSessionState : byte
{
    /// <summary>Initiator only: PQXDH done, no reply decrypted yet; Encrypt emits prekey envelopes.</summary>
    AwaitingFirstReply = 1,

    /// <summary>Both sides have proved they hold the session; Encrypt emits ordinary envelopes.</summary>
    Established = 2,
}

/// <summary>Which side of PQXDH this session was.</summary>
public enum E2eRole : byte
{
    Initiator = 1,
    Responder = 2,
}
