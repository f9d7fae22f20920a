using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;

namespace Parley.Tests.Support;

/// <summary>Runs both handshake state machines against each other in memory, with a hook to tamper with each message.</summary>
public static class HandshakeHarness
{
    public static readonly SigningKey ServerKey = SignatureAlgorithms.Ed25519.GenerateKey();

    public static ServerHandshakeOptions ServerOptions(KeyAgreementAlgorithm? group = null, AeadAlgorithm? suite = null, RecordLimits? limits = null, SigningKey? identity = null) =>
        new(identity ?? ServerKey)
        {
            Groups = group is null ? KeyAgreementAlgorithms.All : [group],
            Suites = suite is null ? AeadAlgorithms.All : [suite],
            Limits = limits ?? RecordLimits.Default,
        };

    public static ClientHandshakeOptions ClientOptions(KeyAgreementAlgorithm? group = null, AeadAlgorithm? suite = null, RecordLimits? limits = null) =>
        new()
        {
            Groups = group is null ? KeyAgreementAlgorithms.All : [group],
            Suites = suite is null ? AeadAlgorithms.All : [suite],
            Limits = limits ?? RecordLimits.Default,
        };

    /// <summary>Strips the 4-byte frame header from a frame produced by a state machine.</summary>
    public static byte[] Body(byte[] frame)
    {
        Assert.Equal(frame.Length - Frame.HeaderSize, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame));
        return frame[Frame.HeaderSize..];
    }

    /// <summary>Splits bytes holding several whole frames into those frames (headers included).</summary>
    public static List<byte[]> SplitFrames(byte[] bytes)
    {
        List<byte[]> frames = [];
        for (int offset = 0; offset < bytes.Length;)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
            frames.Add(bytes[offset..(offset + 4 + length)]);
            offset += 4 + length;
        }
        return frames;
    }

    /// <summary>
    /// Runs a whole handshake. <paramref name="tamper"/> sees each message body by name
    /// ("ClientHello", "HelloRetryRequest", "ClientHello2", "ServerHello", "Finished") and returns what is delivered.
    /// </summary>
    public static (SecureSession Client, SecureSession Server, PeerIdentity Identity) Run(
        ClientHandshakeOptions clientOptions,
        ServerHandshakeOptions serverOptions,
        Func<string, byte[], byte[]>? tamper = null,
        HandshakeEntropy? clientEntropy = null,
        HandshakeEntropy? serverEntropy = null)
    {
        tamper ??= (_, body) => body;
        using ClientHandshake client = new(clientOptions, clientEntropy);
        using ServerHandshake server = new(serverOptions, serverEntropy);

        byte[] toServer = tamper("ClientHello", Body(client.Start()));
        ServerHandshakeStep serverStep = server.ReadMessage(toServer);
        byte[] toClient = Body(serverStep.Send!);
        ClientHandshakeStep clientStep;
        if (toClient[0] == (byte)MessageType.HelloRetryRequest)
        {
            clientStep = client.ReadMessage(tamper("HelloRetryRequest", toClient));
            serverStep = server.ReadMessage(tamper("ClientHello2", Body(clientStep.Send!)));
            toClient = Body(serverStep.Send!);
        }
        clientStep = client.ReadMessage(tamper("ServerHello", toClient));
        PeerIdentity identity = clientStep.ServerIdentity!;
        ClientHandshakeResult result = client.Confirm();
        serverStep = server.ReadMessage(tamper("Finished", Body(result.Send)));
        Assert.Equal(ServerHandshakeState.Complete, server.State);
        Assert.Equal(ClientHandshakeState.Complete, client.State);
        return (result.Session, serverStep.Session!, identity);
    }

    public static byte[] Exchange(SecureSession from, SecureSession to, byte[] payload)
    {
        byte[] frame = from.Seal(MessageType.ApplicationData, payload);
        FrameDecoder decoder = new(to.MaxFrameBodyLength);
        decoder.Append(frame);
        byte[]? result = null;
        while (decoder.TryReadFrame(out ReadOnlyMemory<byte> body))
        {
            (MessageType type, byte[] plaintext) = to.Open(body.Span);
            if (type == MessageType.ApplicationData)
            {
                result = plaintext;
            }
        }
        return result ?? throw new InvalidOperationException("no application record");
    }
}
