namespace Parley.Client;

/// <summary>A message body over the server's limit (login_result's maxBodyLength): refused before sending, the session goes on.</summary>
public sealed class MessageTooLargeException(int length, int limit)
    : Exception($"the message is {length} bytes; the server's limit is {limit} bytes")
{
    public int Length { get; } = length;

    public int Limit { get; } = limit;
}
