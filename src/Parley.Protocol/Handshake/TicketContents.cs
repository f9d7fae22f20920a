// PROTOCOL.md §5.8: what a ticket holds, sealed so only the server reads it.
//   u8 format = 1 || u64 issued_at (Unix seconds) || u32 lifetime (seconds) || name group || name suite || opaque secret[32]
using System.Buffers.Binary;
using System.Security.Cryptography;
using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

internal sealed class TicketContents : IDisposable
{
    private const byte Format = 1;

    /// <summary>format, issued_at, lifetime, two one-byte names, the secret.</summary>
    internal const int MinLength = 1 + 8 + 4 + 2 + 2 + SessionTickets.SecretSize;

    private readonly byte[] _secret;

    internal TicketContents(ulong issuedAt, uint lifetimeSeconds, string group, string suite, ReadOnlySpan<byte> secret)
    {
        if (secret.Length != SessionTickets.SecretSize)
        {
            throw new ArgumentException($"A resumption secret is {SessionTickets.SecretSize} bytes.", nameof(secret));
        }
        IssuedAt = issuedAt;
        LifetimeSeconds = lifetimeSeconds;
        Group = group;
        Suite = suite;
        _secret = secret.ToArray();
    }

    internal ulong IssuedAt { get; }
    internal uint LifetimeSeconds { get; }
    internal string Group { get; }
    internal string Suite { get; }
    internal ReadOnlySpan<byte> Secret => _secret;

    /// <summary>Whether the ticket is still good at <paramref name="now"/> (Unix seconds): not expired, not issued too far in the future.</summary>
    internal bool ValidAt(ulong now) =>
        LifetimeSeconds <= SessionTickets.Lifetime.TotalSeconds
        && IssuedAt <= now + SessionTickets.MaxClockSkewSeconds
        && now < IssuedAt + LifetimeSeconds;

    internal byte[] Encode()
    {
        // The plaintext holds the resumption secret: the room it is built in is wiped as well as
        // the copy the caller gets (which it wipes once sealed).
        Span<byte> room = stackalloc byte[WireWriter.StackSize];
        try
        {
            WireWriter w = new(room);
            w.WriteByte(Format);
            Span<byte> number = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(number, IssuedAt);
            w.WriteBytes(number);
            BinaryPrimitives.WriteUInt32BigEndian(number, LifetimeSeconds);
            w.WriteBytes(number[..4]);
            w.WriteName(Group);
            w.WriteName(Suite);
            w.WriteBytes(_secret);
            return w.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(room);
        }
    }

    /// <summary>Null for anything but format 1 laid out exactly (it was authenticated, so this only guards against our own bugs).</summary>
    internal static TicketContents? TryDecode(ReadOnlySpan<byte> plaintext)
    {
        try
        {
            WireReader r = new(plaintext, "ticket");
            if (r.ReadByte("format") != Format)
            {
                return null;
            }
            ulong issuedAt = BinaryPrimitives.ReadUInt64BigEndian(r.ReadBytes(8, "issued_at"));
            uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(r.ReadBytes(4, "lifetime"));
            string group = r.ReadName("group");
            string suite = r.ReadName("suite");
            ReadOnlySpan<byte> secret = r.ReadBytes(SessionTickets.SecretSize, "secret");
            r.EnsureEnd();
            return new TicketContents(issuedAt, lifetime, group, suite, secret);
        }
        catch (ParleyProtocolException)
        {
            return null;
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);
}
