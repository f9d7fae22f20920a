namespace Parley.Protocol.Handshake;

public static class ProtocolVersion
{
    /// <summary>The only version this implementation speaks.</summary>
    public const ushort Current = 1;

    public const int RandomSize = 32;
}
