// What counts as "one source" for limits and back-off. An IPv4 address is one source; an IPv6
// client usually holds a whole /64 and can rotate through 2^64 addresses at will, so the /64 is
// the unit. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack socket reports them) count
// as the IPv4 address they carry.
using System.Net;
using System.Net.Sockets;

namespace Parley.Server.Hosting;

public static class AddressBlock
{
    /// <summary>The key under which <paramref name="address"/> is counted: "a.b.c.d" or "xxxx:xxxx:xxxx:xxxx::/64".</summary>
    public static string Of(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
