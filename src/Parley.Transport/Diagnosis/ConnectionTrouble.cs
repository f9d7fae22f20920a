// A failed connection in words a user can act on, decided once for chat, devices and peer:
// "localhost:22 does not look like a Parley server (is the port right?)" rather than
// "frame_too_large: a frame of 1397966893 bytes". The protocol error stays in Technical, which
// the commands print with --verbose.
using Parley.Protocol;
using Parley.Protocol.Text;

namespace Parley.Transport.Diagnosis;

/// <summary>What the caller meant to reach.</summary>
public enum Expected
{
    /// <summary>A messenger server (`parley chat`, `parley devices`).</summary>
    Server,

    /// <summary>Another person's `parley peer`.</summary>
    Peer,
}

/// <param name="Text">The sentence to show, without a trailing full stop; safe for a terminal. It starts with the host when that is the subject, so it is never capitalised for it.</param>
/// <param name="Technical">The protocol error or socket message behind it, for --verbose; null when Text says it all.</param>
public sealed record PlainError(string Text, string? Technical);

public static class ConnectionTrouble
{
    public static PlainError Describe(Exception error, string host, int port, Expected expected)
    {
        ArgumentNullException.ThrowIfNull(error);
        string where = UntrustedText.Sanitize($"{host}:{port}", 300);
        string kind = expected == Expected.Server ? "server" : "peer";
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ConnectFailedException connect:
                    return new PlainError($"Cannot connect to {where}: {connect.Reason}{Hint(connect.Failure, kind)}", connect.InnerException?.Message);
                case NotParleyException foreign:
                    return new PlainError($"{where} does not look like a Parley {kind} (is the port right?): {foreign.What}", foreign.Protocol.Message);
                case ParleyProtocolException { IsRemote: true, Unauthenticated: true, Error: ProtocolError.ClientIdentityRequired } p when expected == Expected.Server:
                    return new PlainError($"{where} is a Parley peer ('parley peer'), not a server: to chat with it, run 'parley peer --connect {where}'", p.Message);
                case ParleyProtocolException { IsRemote: true, Unauthenticated: true, Error: ProtocolError.UnexpectedMessage } p when expected == Expected.Peer:
                    return new PlainError($"{where} is a Parley server, not a peer: to use it, run 'parley chat --host {UntrustedText.Sanitize(host, 300)} --port {port}'", p.Message);
                case ParleyProtocolException { Error: ProtocolError.HandshakeTimeout } p:
                    return new PlainError($"{where} did not finish the handshake in time: {UntrustedText.Sanitize(p.Detail)}", p.Message);
                case ParleyProtocolException { Error: ProtocolError.ConnectionLimit } p:
                    return new PlainError($"{where} refused the connection: {UntrustedText.Sanitize(p.Detail)}", p.Message);
                case ParleyProtocolException p:
                    return new PlainError($"The secure connection to {where} failed: {UntrustedText.Sanitize(p.Detail)}", p.Message);
            }
        }
        return new PlainError(UntrustedText.Sanitize(error.Message), null);
    }

    private static string Hint(ConnectFailure failure, string kind) => failure switch
    {
        ConnectFailure.Refused => $" (nothing listens there: is the {kind} running, and is the port right?)",
        ConnectFailure.UnknownHost => " (is the name spelled right?)",
        ConnectFailure.TimedOut => " (is the address right, or is a firewall in the way?)",
        _ => "",
    };
}
