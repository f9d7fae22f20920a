using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.EndToEnd.Session;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>parley chat's end-to-end layer when an identity changes: what is shown, what is held, and what trust releases.</summary>
public class ChatEndToEndTrustTests
{
    [Fact]
    public async Task Messages_both_ways_wait_for_trust_and_trust_shows_and_sends_them()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        System.Threading.Channels.Channel<string> shown = System.Threading.Channels.Channel.CreateUnbounded<string>();
        await using ChatClient bobClient = await server.LoginAsync("bob");
        using Parley.Cli.Commands.ChatEndToEnd bob = Parley.Cli.Commands.ChatEndToEnd.Open(new ParleyHome(temp.Path), bobClient, "bob");
        bobClient.MessageHandler = m => shown.Writer.WriteAsync(bob.Show(m, bobClient.DeviceId, out _) ?? "");
        Assert.Null(await bob.PublishOrReplenishAsync(bobClient, CancellationToken.None).WithTimeout());
        await alice.Keys.SendTextAsync(alice.Client, "bob", "hello").WithTimeout();
        Assert.Contains("hello", await shown.Reader.ReadAsync().AsTask().WithTimeout());

        using E2eDevice impostor = E2eDevice.Create("alice");
        BundleList bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        using E2eSession session = E2eSession.Initiate(impostor.IdentityPair(), KeyDirectoryBlobs.ToBundle(bobs.Devices[0]));
        await alice.Client.SendToDeviceAsync("bob", bobClient.DeviceId!, E2eDevice.ContentType, session.Encrypt(E2ePayload.Encode(E2ePayload.Text, "read me after trust"))).WithTimeout();
        string warning = await shown.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Contains("IDENTITY KEY HAS CHANGED", warning);
        Assert.Contains("kept unread", warning);
        Assert.DoesNotContain("read me after trust", warning);

        string held = await bob.SendAsync(bobClient, "alice", "for alice once trusted", CancellationToken.None).WithTimeout();
        Assert.Contains("held (1 waiting)", held);
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "alice"));

        string trusted = await bob.TrustAsync(bobClient, "alice", CancellationToken.None).WithTimeout();
        string[] lines = trusted.Split(Environment.NewLine);
        Assert.StartsWith("[STATUS] Trusted the new identity of 1 device(s) of alice", lines[0]);
        Assert.Contains(lines, l => l.Contains("From alice: read me after trust", StringComparison.Ordinal));
        Assert.Contains("[STATUS] Message delivered to alice", lines);
        // It went on the session bob just trusted (the impostor's): the real alice cannot read it, and says so.
        E2eIncoming atAlice = await alice.NextAsync();
        Assert.Equal(("bob", false), (atAlice.From, atAlice.Opened));
    }
}
