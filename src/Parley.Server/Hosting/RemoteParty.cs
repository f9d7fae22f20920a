using System.Net;

namespace Parley.Server.Hosting;

/// <summary>
/// Where a connection comes from, as every transport reports it: the address for logs, and the
/// source that admission, back-off and registration limits count by (IPv4, or IPv6 by /64).
/// </summary>
public readonly record struct RemoteParty(string Address, string Source)
{
    public static RemoteParty Of(IPAddress? address) =>
        new(address?.ToString() ?? "unknown", AddressBlock.Of(address));

    /// <summary>For a transport that knows the address only as text (a proxy header, a test).</summary>
    public static RemoteParty Of(string address) =>
        IPAddress.TryParse(address, out IPAddress? ip) ? Of(ip) : new RemoteParty(address, address);
}
