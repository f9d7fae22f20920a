// The two kinds of envelope (PROTOCOL.md §13.6).
namespace Parley.EndToEnd.Session;

public enum EnvelopeType : byte
{
    /// <summary>PQXDH initial header, then a ratchet message.</summary>
    PrekeyMessage = 1,

    /// <summary>A ratchet message alone.</summary>
    Message = 2,
}
