using System.Net;
using Parley.Server.Hosting;

namespace Parley.Tests.Server;

public sealed class AddressBlockTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void Addresses_are_grouped_by_what_one_client_can_rotate_through(string address, string expected) =>
        Assert.Equal(expected, AddressBlock.Of(IPAddress.Parse(address)));

    [Fact]
    public void Two_addresses_in_one_ipv6_slash_64_are_one_source() =>
        Assert.Equal(AddressBlock.Of(IPAddress.Parse("2001:db8::1")), AddressBlock.Of(IPAddress.Parse("2001:db8::ffff:1")));
}
