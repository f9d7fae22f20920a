using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// An idle session gives back its cipher contexts (SecureSession.ReleaseCipherContexts) and the
/// next record recreates them: the same keys, the same nonce sequence, nothing sealed differently.
/// </summary>
public class IdleCipherReleaseTests
{
    public static TheoryData<string> Suites() => new(AeadAlgorithms.All.Select(s => s.Name));

    private static (SecureSession Client, SecureSession Server) Connect(string suite)
    {
        (SecureSession c, SecureSession s, _) = HandshakeHarness.Run(
            HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Get(suite)),
            HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Get(suite)));
        return (c, s);
    }

    private static byte[] RoundTrip(SecureSession from, SecureSession to, byte[] payload)
    {
        // One frame, or two when a KeyUpdate goes first.
        List<byte[]> frames = HandshakeHarness.SplitFrames(from.Seal(MessageType.ApplicationData, payload));
        foreach (byte[] keyUpdate in frames[..^1])
        {
            Assert.Equal(MessageType.KeyUpdate, to.Open(HandshakeHarness.Body(keyUpdate)).Type);
        }
        (MessageType type, byte[] opened) = to.Open(HandshakeHarness.Body(frames[^1]));
        Assert.Equal(MessageType.ApplicationData, type);
        return opened;
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Released_contexts_come_back_with_the_next_record_in_either_direction(string suite)
    {
        (SecureSession client, SecureSession server) = Connect(suite);
        using (client)
        using (server)
        {
            Assert.Equal(new byte[] { 1 }, RoundTrip(client, server, [1]));
            Assert.Equal(new byte[] { 2 }, RoundTrip(server, client, [2]));
            Assert.Equal(2, server.CipherContextsHeld);

            server.ReleaseCipherContexts();
            Assert.Equal(0, server.CipherContextsHeld);
            // Opening recreates the receive context only; sealing the send one.
            Assert.Equal(new byte[] { 3 }, RoundTrip(client, server, [3]));
            Assert.Equal(1, server.CipherContextsHeld);
            server.ReleaseCipherContexts();
            Assert.Equal(new byte[] { 4 }, RoundTrip(server, client, [4]));
            Assert.Equal(1, server.CipherContextsHeld);

            // A key update while released moves to the next epoch's key, not the old one.
            server.ReleaseCipherContexts();
            server.RequestKeyUpdate();
            Assert.Equal(new byte[] { 5 }, RoundTrip(server, client, [5]));
            Assert.Equal(1UL, server.SendEpoch);
            Assert.Equal(1UL, client.ReceiveEpoch);
        }
    }

    [Fact]
    public async Task A_release_racing_with_sealing_and_opening_never_breaks_a_record()
    {
        // The sweep releases from its own thread while the connection's reader and writer work:
        // every record must still seal and open under the right key and nonce.
        (SecureSession client, SecureSession server) = Connect("aes-256-gcm");
        using (client)
        using (server)
        {
            using CancellationTokenSource done = new();
            Task releaser = Task.Run(() =>
            {
                while (!done.IsCancellationRequested)
                {
                    server.ReleaseCipherContexts();
                    client.ReleaseCipherContexts();
                }
            });
            try
            {
                for (int i = 0; i < 2_000; i++)
                {
                    byte[] payload = BitConverter.GetBytes(i);
                    Assert.Equal(payload, RoundTrip(client, server, payload));
                    Assert.Equal(payload, RoundTrip(server, client, payload));
                }
            }
            finally
            {
                done.Cancel();
                await releaser.WithTimeout();
            }
        }
    }

    [Fact]
    public void A_disposed_session_holds_no_context_and_opens_nothing()
    {
        (SecureSession client, SecureSession server) = Connect("aes-256-gcm");
        using (client)
        {
            byte[] frame = client.Seal(MessageType.ApplicationData, [9]);
            server.Dispose();
            Assert.Equal(0, server.CipherContextsHeld);
            Assert.ThrowsAny<Exception>(() => server.Open(HandshakeHarness.Body(frame)));
            Assert.Equal(0, server.CipherContextsHeld);
        }
    }
}
