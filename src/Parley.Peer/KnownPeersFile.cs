// known_peers: trust on first use for peer-to-peer chat, keyed by the peer's name.
//     <name> <algorithm> <base64 public key>
// A known name with another key is refused loudly, naming the file and line.
using Parley.Protocol.Handshake;
using Parley.Transport.Trust;

namespace Parley.Peer;

public sealed class KnownPeersFile(string path)
{
    private readonly KnownHostsFile _file = new(path);

    public string Path => _file.Path;

    public KnownHostLookup Lookup(string name, PeerIdentity identity) => _file.Lookup(name, identity);

    public void Add(string name, PeerIdentity identity) => _file.Add(name, identity);

    public IReadOnlyList<KnownHostEntry> Entries() => _file.Entries();

    /// <summary>Forgets the key pinned for <paramref name="name"/> (names compare case-insensitively, as lookups do).</summary>
    public IReadOnlyList<KnownHostEntry> Remove(string name) =>
        _file.Remove(entry => string.Equals(entry, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>A peer's changed key: the same loud refusal as for servers.</summary>
public sealed class PeerKeyMismatchException(string name, string presented, string stored, string path, int line)
    : Exception(
        $"""
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        @    WARNING: PEER IDENTIFICATION HAS CHANGED!            @
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        The peer calling itself '{name}' presented the key {presented},
        but {path} line {line} records {stored} for that name.
        Someone may be impersonating {name}, or {name} created a new identity.
        Check with {name} out of band; if the change is legitimate, forget the old key with
        'parley known-peers remove {name}' (or remove line {line} of {path}) and connect again.
        The session was refused.
        """)
{
    public string Name { get; } = name;
}
