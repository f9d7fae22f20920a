// Session tickets in the Parley home (PROTOCOL.md §5.8-§5.9), one per server key, 0600 like tokens:
//     parley-ticket-v1
//     expires <Unix seconds>
//     group <name>
//     suite <name>
//     server <algorithm> <base64 public key>
//     ticket <base64>
//     secret <base64>
// A ticket is offered only while its server key is the one pinned for the host in known_hosts,
// and is taken out of the file when offered (single-use); the session it resumes brings the next.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Client;

public sealed class HomeTicketStore(ParleyHome home, KnownHostsFile knownHosts, string host, int port, TimeProvider? clock = null) : ISessionTicketStore
{
    private const string Magic = "parley-ticket-v1";
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>How host:port is named in known_hosts (IPv6 in brackets), as the trust check names it.</summary>
    public string HostPort { get; init; } = $"{host}:{port}";

    public ResumptionTicket? Take()
    {
        ResumptionTicket? ticket = Parse(home.TakeSessionTicket(host, port));
        if (ticket is not null && (ticket.ExpiredAt(_clock.GetUtcNow()) || !Pinned(ticket.Server)))
        {
            ticket.Dispose();
            return null;
        }
        return ticket;
    }

    public void Save(ResumptionTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        using (ticket)
        {
            // Only for a key the user trusts for this host: a ticket is worth what its key is.
            if (!Pinned(ticket.Server))
            {
                return;
            }
            byte[] secret = ticket.ExportSecret();
            try
            {
                home.WriteSessionTicket(ticket.Server.Fingerprint, Format(ticket, secret));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
    }

    private bool Pinned(PeerIdentity server) => knownHosts.Lookup(HostPort, server).Status == KnownHostStatus.Match;

    private static string Format(ResumptionTicket ticket, byte[] secret) =>
        new StringBuilder()
            .Append(Magic).Append('\n')
            .Append("expires ").Append(ticket.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("group ").Append(ticket.Group).Append('\n')
            .Append("suite ").Append(ticket.Suite).Append('\n')
            .Append("server ").Append(ticket.Server.Algorithm.Name).Append(' ').Append(ticket.Server.PublicKeyBase64).Append('\n')
            .Append("ticket ").Append(Convert.ToBase64String(ticket.Ticket)).Append('\n')
            .Append("secret ").Append(Convert.ToBase64String(secret)).Append('\n')
            .ToString();

    /// <summary>The ticket in a file's text; null for anything else (a damaged file is as good as none: the full handshake follows).</summary>
    internal static ResumptionTicket? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }
        Dictionary<string, string> fields = [];
        string[] lines = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 7 || lines[0] != Magic)
        {
            return null;
        }
        foreach (string line in lines.Skip(1))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0)
            {
                return null;
            }
            fields[line[..space]] = line[(space + 1)..];
        }
        byte[]? secret = null;
        try
        {
            string[] server = fields["server"].Split(' ');
            if (server.Length != 2 || !SignatureAlgorithms.TryGet(server[0], out SignatureAlgorithm algorithm)
                || !long.TryParse(fields["expires"], NumberStyles.None, CultureInfo.InvariantCulture, out long expires))
            {
                return null;
            }
            secret = Convert.FromBase64String(fields["secret"]);
            return new ResumptionTicket(Convert.FromBase64String(fields["ticket"]), secret, fields["group"], fields["suite"],
                new PeerIdentity(algorithm, Convert.FromBase64String(server[1])), DateTimeOffset.FromUnixTimeSeconds(expires));
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException or ArgumentException)
        {
            return null;
        }
        finally
        {
            if (secret is not null)
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
    }
}
