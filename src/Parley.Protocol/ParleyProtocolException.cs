namespace Parley.Protocol;

/// <summary>
/// A protocol failure with a specific code. <see cref="IsRemote"/> is true when the peer reported
/// the error in an alert rather than this side detecting it. Messages never carry key material
/// or message bodies.
/// </summary>
public sealed class ParleyProtocolException : Exception
{
    public ParleyProtocolException(ProtocolError error, string message, bool isRemote = false, Exception? inner = null)
        : base($"{(isRemote ? "peer reported " : "")}{error.WireName()}: {message}", inner)
    {
        Error = error;
        IsRemote = isRemote;
        Detail = message;
    }

    public ProtocolError Error { get; }
    public bool IsRemote { get; }

    /// <summary>The human explanation without the error name prefix.</summary>
    public string Detail { get; }

    /// <summary>
    /// A remote error read from a plaintext alert where a record was expected (PROTOCOL.md §5.6:
    /// the client's window after its Finished): the server's word, but nothing authenticates it.
    /// </summary>
    public bool Unauthenticated { get; init; }

    /// <summary>
    /// The peer refused a handshake in which this client offered a session ticket (PROTOCOL.md
    /// §5.9): a server from before resumption. Connecting again without the ticket runs a full handshake.
    /// </summary>
    public bool DuringResumption { get; init; }
}
