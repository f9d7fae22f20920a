namespace Parley.Protocol.Handshake;

/// <summary>The first byte of every handshake message and record (PROTOCOL.md §5).</summary>
public enum MessageType : byte
{
    ClientHello = 0x01,
    ServerHello = 0x02,
    HelloRetryRequest = 0x03,
    ResumingClientHello = 0x04,
    ResumedServerHello = 0x05,
    ClientIdentity = 0x13,
    Finished = 0x14,
    Alert = 0x15,
    ApplicationData = 0x17,
    KeyUpdate = 0x18,
    NewSessionTicket = 0x19,
}
