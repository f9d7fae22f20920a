using System.Net;
using Parley.Crypto.Signing;

namespace Parley.Peer;

public sealed record PeerOptions(SigningKey Identity, string Name, PeerTrust Trust)
{
    /// <summary>Port to listen on (0 for any free port), or null not to listen.</summary>
    public int? ListenPort { get; init; }

    /// <summary>Where to dial, or null not to dial.</summary>
    public DnsEndPoint? Connect { get; init; }

    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
