using System.Net;
using Parley.Crypto.Signing;

namespace Parley.Peer;

public sealed record PeerOptions(SigningKey Identity, string Name, PeerTrust Trust)
{
    /// <summary>Port to listen on (0 for any free port), or null not to listen.</summary>
    public int? ListenPort { get; init; }

    /// <summary>Where to dial, or null not to dial.</summary>
    public DnsEndPoint? Connect { get; init; }

    /// <summary>Where to listen: this machine only unless told otherwise, so a peer session is never exposed to the network silently.</summary>
    public IPAddress ListenAddress { get; init; } = DefaultListenAddress;

    public static IPAddress DefaultListenAddress => IPAddress.Loopback;

    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Incoming connections being set up at once (handshake, hello, trust): past it one more is
    /// closed at once. Each costs a key agreement and a signature, and may ask the user a question.
    /// </summary>
    public int MaxIncomingAtOnce { get; init; } = 8;

    /// <summary>Of those, from one address (its IP, whatever the port).</summary>
    public int MaxIncomingAtOncePerAddress { get; init; } = 2;

    /// <summary>The clock the session-start deadline runs on (a fake one in tests).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
