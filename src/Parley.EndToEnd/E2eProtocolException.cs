// The exception for protocol errors: a typed E2eError plus a short reason for logs. Misuse by the
// caller (null arguments, disposed keys) stays ArgumentException/ObjectDisposedException.
namespace Parley.EndToEnd;

/// <summary>A protocol error; <see cref="Error"/> says which, the message never contains keys or plaintext.</summary>
public sealed class E2eProtocolException : Exception
{
    public E2eProtocolException(E2eError error, string reason)
        : base($"End-to-end protocol error {error}: {reason}.")
    {
        Error = error;
        Reason = reason;
    }

    public E2eError Error { get; }

    public string Reason { get; }
}
