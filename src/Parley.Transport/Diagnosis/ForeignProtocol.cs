// Recognises the first bytes of a service that is not Parley. A Parley handshake frame starts with
// a 4-byte length of at most 4096, so its first two bytes are zero; text protocols start with
// printable ASCII, which read as a length is hundreds of millions. Naming the service turns
// "frame_too_large: a frame of 1397966893 bytes" into "it answered like an SSH server".
using System.Text;

namespace Parley.Transport.Diagnosis;

public static class ForeignProtocol
{
    /// <summary>What the bytes look like, as "it answered like …"; null when nothing is recognised.</summary>
    public static string? Recognise(ReadOnlySpan<byte> first)
    {
        if (StartsWith(first, "SSH-"))
        {
            return "it answered like an SSH server";
        }
        if (StartsWith(first, "HTTP/"))
        {
            return "it answered like a web (HTTP) server";
        }
        if (first.Length >= 2 && first[0] == 0x15 && first[1] == 0x03 || first.Length >= 2 && first[0] == 0x16 && first[1] == 0x03)
        {
            return "it answered like a TLS (HTTPS) server";
        }
        if (StartsWith(first, "220") || StartsWith(first, "+OK") || StartsWith(first, "* OK"))
        {
            return "it answered like a mail or FTP server";
        }
        if (first.Length >= 4 && IsText(first[..Math.Min(first.Length, 32)]))
        {
            return "it answered with text, not a Parley handshake";
        }
        return null;
    }

    private static bool StartsWith(ReadOnlySpan<byte> data, string prefix) =>
        data.Length >= prefix.Length && data[..prefix.Length].SequenceEqual(Encoding.ASCII.GetBytes(prefix));

    private static bool IsText(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            if (b is not (>= 0x20 and < 0x7f or (byte)'\r' or (byte)'\n' or (byte)'\t'))
            {
                return false;
            }
        }
        return true;
    }
}
