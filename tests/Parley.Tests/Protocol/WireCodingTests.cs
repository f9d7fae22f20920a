using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Protocol.Wire;

namespace Parley.Tests.Protocol;

// The handshake's writer builds in stack memory and moves to a pooled array when a message outgrows
// it; the reader hands back the strings it already holds for the names it knows.
public sealed class WireCodingTests
{
    private static ClientHello Hello(int shareLength, int? ticketLength, params string[] groups) =>
        new(ProtocolVersion.Current, Enumerable.Range(0, ProtocolVersion.RandomSize).Select(i => (byte)i).ToArray(), groups,
            ["aes-256-gcm", "chacha20-poly1305"], ["ed25519"], groups[0],
            Enumerable.Range(0, shareLength).Select(i => unchecked((byte)(i * 7))).ToArray(),
            ticketLength is { } n ? Enumerable.Range(0, n).Select(i => unchecked((byte)(i * 3))).ToArray() : null);

    [Theory]
    [InlineData(32, null, false)]
    [InlineData(32, SessionTickets.MaxTicketLength, false)]
    [InlineData(256, SessionTickets.MaxTicketLength, true)] // a MODP share and a ticket: past the writer's stack room
    public void A_hello_of_any_size_round_trips(int shareLength, int? ticketLength, bool outgrowsStack)
    {
        ClientHello hello = Hello(shareLength, ticketLength, "x25519", "p256", "modp2048");
        byte[] encoded = hello.Encode();
        Assert.Equal(outgrowsStack, encoded.Length > WireWriter.StackSize);
        ClientHello decoded = ClientHello.Decode(encoded);
        Assert.Equal(hello.Groups, decoded.Groups);
        Assert.Equal(hello.Suites, decoded.Suites);
        Assert.Equal(hello.KeyShare, decoded.KeyShare);
        Assert.Equal(hello.Ticket, decoded.Ticket);
        Assert.Equal(encoded, decoded.Encode());
    }

    [Fact]
    public void The_writer_grows_past_its_room_keeping_every_byte()
    {
        byte[] expected = Enumerable.Range(0, 3 * WireWriter.StackSize + 5).Select(i => unchecked((byte)(i * 13))).ToArray();
        WireWriter w = new(stackalloc byte[16]);
        for (int i = 0; i < expected.Length; i++)
        {
            w.WriteByte(expected[i]);
        }
        Assert.Equal(expected, w.ToArray());
    }

    [Fact]
    public void Known_names_come_back_as_the_strings_already_held_and_unknown_ones_still_decode()
    {
        ClientHello decoded = ClientHello.Decode(Hello(32, null, "x25519", "future-group-9").Encode());
        Assert.Same(KeyAgreementAlgorithms.X25519.Name, decoded.Groups[0]);
        Assert.Equal("future-group-9", decoded.Groups[1]);
    }

    [Theory]
    [InlineData("key_share length")]
    [InlineData("share_group length")]
    [InlineData("groups count")]
    public void A_message_cut_at_a_length_or_count_names_that_field_and_its_part(string field)
    {
        byte[] encoded = Hello(32, null, "x25519").Encode();
        // type, version, random; then groups, suites, signatures, share_group, key_share.
        int groupsCount = 1 + 2 + ProtocolVersion.RandomSize;
        int cut = field switch
        {
            "groups count" => groupsCount,
            "share_group length" => encoded.Length - 32 - 2 - (1 + "x25519".Length),
            _ => encoded.Length - 32 - 1, // inside the key share's u16 length
        };
        ParleyProtocolException e = Assert.Throws<ParleyProtocolException>(() => ClientHello.Decode(encoded[..cut]));
        Assert.Equal(ProtocolError.Malformed, e.Error);
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void A_writer_ended_by_ToArray_refuses_more()
    {
        WireWriter w = new(stackalloc byte[8]);
        w.WriteByte(1);
        Assert.Equal([1], w.ToArray());
        bool refused = false;
        try
        {
            w.WriteByte(2);
        }
        catch (InvalidOperationException)
        {
            refused = true;
        }
        Assert.True(refused);
    }

    [Fact]
    public void A_name_outside_the_alphabet_is_refused_when_written()
    {
        Assert.Throws<ArgumentException>(() => Hello(32, null, "X25519").Encode());
        Assert.Throws<ArgumentException>(() => Hello(32, null, "x25519é").Encode());
        Assert.Throws<ArgumentException>(() => Hello(32, null, new string('a', WireWriter.MaxNameLength + 1)).Encode());
    }
}
