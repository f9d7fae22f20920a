namespace Parley.Protocol;

/// <summary>
/// Every way a Parley connection can fail, each with its code on the wire (PROTOCOL.md §7).
/// The same code is reported locally and sent to the peer in an alert.
/// </summary>
public enum ProtocolError : byte
{
    CloseNotify = 0,
    UnexpectedMessage = 1,
    Malformed = 2,
    UnsupportedVersion = 3,
    NoCommonGroup = 4,
    NoCommonSuite = 5,
    NoCommonSignatureAlgorithm = 6,
    InvalidPublicKey = 7,
    BadSignature = 8,
    BadRecordMac = 9,
    FrameTooLarge = 10,
    EmptyFrame = 11,
    HandshakeTimeout = 12,
    IllegalParameter = 13,
    UntrustedPeer = 14,
    SequenceExhausted = 15,
    BadFinished = 16,
    InternalError = 17,
    ConnectionClosed = 18,
    ConnectionLimit = 19,
    ClientIdentityRequired = 20,
}

public static class ProtocolErrorNames
{
    /// <summary>The snake_case name used in PROTOCOL.md and in error messages.</summary>
    public static string WireName(this ProtocolError error) => error switch
    {
        ProtocolError.CloseNotify => "close_notify",
        ProtocolError.UnexpectedMessage => "unexpected_message",
        ProtocolError.Malformed => "malformed",
        ProtocolError.UnsupportedVersion => "unsupported_version",
        ProtocolError.NoCommonGroup => "no_common_group",
        ProtocolError.NoCommonSuite => "no_common_suite",
        ProtocolError.NoCommonSignatureAlgorithm => "no_common_signature_algorithm",
        ProtocolError.InvalidPublicKey => "invalid_public_key",
        ProtocolError.BadSignature => "bad_signature",
        ProtocolError.BadRecordMac => "bad_record_mac",
        ProtocolError.FrameTooLarge => "frame_too_large",
        ProtocolError.EmptyFrame => "empty_frame",
        ProtocolError.HandshakeTimeout => "handshake_timeout",
        ProtocolError.IllegalParameter => "illegal_parameter",
        ProtocolError.UntrustedPeer => "untrusted_peer",
        ProtocolError.SequenceExhausted => "sequence_exhausted",
        ProtocolError.BadFinished => "bad_finished",
        ProtocolError.InternalError => "internal_error",
        ProtocolError.ConnectionClosed => "connection_closed",
        ProtocolError.ConnectionLimit => "connection_limit",
        ProtocolError.ClientIdentityRequired => "client_identity_required",
        _ => $"unknown_error_{(byte)error}",
    };
}
