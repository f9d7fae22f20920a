using Parley.Protocol;

namespace Parley.Transport.Diagnosis;

/// <summary>
/// The other side answered the handshake with something that is not Parley (an SSH banner, an
/// HTTP reply, a length no handshake message has) or with nothing at all before the deadline.
/// The protocol error that revealed it is <see cref="Protocol"/>, for `--verbose`.
/// </summary>
public sealed class NotParleyException(string what, ParleyProtocolException protocol)
    : IOException($"the other side does not speak Parley: {what}", protocol)
{
    /// <summary>What it looked like instead, e.g. "it answered like an SSH server".</summary>
    public string What { get; } = what;

    public ParleyProtocolException Protocol { get; } = protocol;
}
