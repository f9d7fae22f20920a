using Parley.Client;
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Trust;

namespace Parley.Tests.Client;

/// <summary>The client's session tickets in the Parley home: per server key, only for the pinned key, single-use, gone on a re-pin.</summary>
public sealed class HomeTicketStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ManualClock _clock = new();
    private readonly SigningKey _serverKey = SignatureAlgorithms.Ed25519.GenerateKey();
    private readonly ParleyHome _home;
    private readonly KnownHostsFile _knownHosts;

    public HomeTicketStoreTests()
    {
        _home = new ParleyHome(_temp.File("home"));
        _knownHosts = new KnownHostsFile(_temp.File("home/known_hosts"));
    }

    public void Dispose()
    {
        _serverKey.Dispose();
        _temp.Dispose();
    }

    private PeerIdentity Server => new(_serverKey.Algorithm, _serverKey.PublicKey.ToArray());

    private HomeTicketStore Store() => new(_home, _knownHosts, "example.org", 5555, _clock);

    private ResumptionTicket NewTicket(PeerIdentity? server = null) =>
        new([1, 2, 3, 4], Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), "x25519", "aes-256-gcm", server ?? Server, _clock.GetUtcNow() + SessionTickets.Lifetime);

    private void Pin()
    {
        _knownHosts.Add("example.org:5555", Server);
        _home.RecordServerKey("example.org", 5555, Server.Fingerprint);
    }

    [Fact]
    public void A_saved_ticket_comes_back_whole_once_and_its_file_is_owner_only()
    {
        Pin();
        Store().Save(NewTicket());
        string file = Assert.Single(Directory.GetFiles(_temp.File("home/tickets")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        using ResumptionTicket taken = Assert.IsType<ResumptionTicket>(Store().Take());

        Assert.Equal([1, 2, 3, 4], taken.Ticket);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), taken.ExportSecret());
        Assert.Equal(("x25519", "aes-256-gcm"), (taken.Group, taken.Suite));
        Assert.True(taken.Server.SameKeyAs(Server));
        Assert.Equal(_clock.GetUtcNow() + SessionTickets.Lifetime, taken.ExpiresAt);
        Assert.Null(Store().Take());
    }

    [Fact]
    public void A_ticket_for_a_key_that_is_not_pinned_is_not_saved()
    {
        _home.RecordServerKey("example.org", 5555, Server.Fingerprint);
        Store().Save(NewTicket());
        Assert.Null(Store().Take());
        Assert.False(Directory.Exists(_temp.File("home/tickets")));
    }

    [Fact]
    public void An_expired_ticket_is_dropped()
    {
        Pin();
        Store().Save(NewTicket());
        _clock.Advance(SessionTickets.Lifetime);
        Assert.Null(Store().Take());
        Assert.Empty(Directory.GetFiles(_temp.File("home/tickets")));
    }

    [Fact]
    public void A_re_pinned_host_drops_the_old_keys_ticket()
    {
        Pin();
        Store().Save(NewTicket());
        using SigningKey newKey = SignatureAlgorithms.Ed25519.GenerateKey();

        _home.RecordServerKey("example.org", 5555, Fingerprint.Of(newKey.Algorithm, newKey.PublicKey));

        Assert.Empty(Directory.GetFiles(_temp.File("home/tickets")));
        Assert.Null(Store().Take());
    }

    [Fact]
    public void A_ticket_whose_key_known_hosts_no_longer_pins_is_not_offered()
    {
        Pin();
        Store().Save(NewTicket());
        _knownHosts.Remove(name => name == "example.org:5555");
        Assert.Null(Store().Take());
    }

    [Fact]
    public void A_damaged_ticket_file_is_as_good_as_none()
    {
        Assert.Null(HomeTicketStore.Parse("parley-ticket-v1\nexpires 1\n"));
        Assert.Null(HomeTicketStore.Parse("parley-ticket-v1\nexpires x\ngroup x25519\nsuite aes-256-gcm\nserver ed25519 AAAA\nticket AQID\nsecret AQID\n"));
        Assert.Null(HomeTicketStore.Parse("something else"));
    }
}
