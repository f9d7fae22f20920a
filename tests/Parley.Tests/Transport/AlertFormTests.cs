using System.Net.Sockets;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Tests.Transport;

/// <summary>
/// PROTOCOL.md §5.6: a receiver tells a plaintext alert from an Alert record by its own state,
/// never by the bytes. A plaintext alert the server sends about the client's Finished reaches a
/// client that already opens records: the record fails to open, and only in that window (no
/// record opened yet) the client reports the server's code, marked unauthenticated.
/// </summary>
public sealed class AlertFormTests
{
    private sealed class TrustAll : IServerTrust
    {
        public ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TrustDecision.Accept("test"));
    }

    [Fact]
    public async Task A_plaintext_alert_after_the_clients_Finished_is_reported_as_the_servers_unauthenticated_code()
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        using (c)
        using (s)
        {
            ServerHandshakeOptions requireIdentity = HandshakeHarness.ServerOptions() with { RequireClientIdentity = true };
            Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, requireIdentity);
            await using SecureChannel client = await SecureChannel.ConnectAsync(c, new ClientChannelOptions(new TrustAll())).WithTimeout();

            ParleyProtocolException serverSide = await Assert.ThrowsAsync<ParleyProtocolException>(() => accept.WithTimeout());
            Assert.Equal(ProtocolError.ClientIdentityRequired, serverSide.Error);

            ParleyProtocolException clientSide = await Assert.ThrowsAsync<ParleyProtocolException>(async () => await client.ReceiveAsync().AsTask().WithTimeout());
            Assert.True(clientSide.IsRemote);
            Assert.True(clientSide.Unauthenticated);
            Assert.Equal(ProtocolError.ClientIdentityRequired, clientSide.Error);
        }
    }
}
