using Parley.Crypto.KeyAgreement;

namespace Parley.Protocol.Handshake;

internal static class HandshakeFailures
{
    /// <summary>Runs a step; a peer's bad key becomes invalid_public_key, not a crypto exception.</summary>
    internal static SharedSecret Agree(KeyAgreementAlgorithm group, KeyAgreementPrivateKey ours, ReadOnlySpan<byte> theirs)
    {
        try
        {
            return group.Agree(ours, theirs);
        }
        catch (InvalidPublicKeyException e)
        {
            throw new ParleyProtocolException(ProtocolError.InvalidPublicKey, e.Message, inner: e);
        }
    }

    internal static MessageType PeekType(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            throw new ParleyProtocolException(ProtocolError.EmptyFrame, "an empty handshake message was received");
        }
        return (MessageType)body[0];
    }

    /// <summary>A plaintext alert from the peer ends the handshake with the peer's error.</summary>
    internal static ParleyProtocolException FromAlertMessage(ReadOnlySpan<byte> body) =>
        Alert.DecodePayload(body[1..]).ToException();
}
