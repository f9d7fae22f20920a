using System.Text;
using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>
/// PROTOCOL.md §5.6: an error report (or close_notify). During the handshake it travels as a
/// plaintext message; after it, as the payload of an Alert record. The reason is for humans,
/// at most 255 bytes of UTF-8, and never carries secrets.
/// </summary>
public sealed record Alert(ProtocolError Error, string Reason)
{
    public const int MaxReasonBytes = 255;

    /// <summary>The payload: code, reason length, reason (without the leading type byte).</summary>
    public byte[] EncodePayload()
    {
        byte[] reason = Encoding.UTF8.GetBytes(Reason);
        int length = Math.Min(reason.Length, MaxReasonBytes);
        // Never cut a UTF-8 sequence in half.
        while (length > 0 && length < reason.Length && (reason[length] & 0xC0) == 0x80)
        {
            length--;
        }
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        w.WriteByte((byte)Error);
        w.WriteByte((byte)length);
        w.WriteBytes(reason.AsSpan(0, length));
        return w.ToArray();
    }

    /// <summary>The plaintext handshake message: type 0x15 then the payload.</summary>
    public byte[] EncodeMessage() => [(byte)MessageType.Alert, .. EncodePayload()];

    /// <summary>Reads an alert; its reason comes back as <see cref="Text.UntrustedText.Sanitize"/> makes it.</summary>
    public static Alert DecodePayload(ReadOnlySpan<byte> payload)
    {
        WireReader r = new(payload, "Alert");
        ProtocolError error = (ProtocolError)r.ReadByte("code");
        int length = r.ReadByte("reason length");
        string reason = Encoding.UTF8.GetString(r.ReadBytes(length, "reason"));
        r.EnsureEnd();
        // A peer's text reaches our terminal and logs: through the one sanitiser, as every other
        // string from outside (it kept bidi overrides and zero-width characters before).
        return new Alert(error, Text.UntrustedText.Sanitize(reason, MaxReasonBytes));
    }

    /// <summary>Turns a received alert into the exception that reports it.</summary>
    public ParleyProtocolException ToException() =>
        new(Error, Reason.Length == 0 ? "(no reason given)" : Reason, isRemote: true);
}
