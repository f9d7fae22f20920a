using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Messaging;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClientMessage))]
[JsonSerializable(typeof(ServerMessage))]
[JsonSerializable(typeof(GroupChange))]
internal sealed partial class MessengerJsonContext : JsonSerializerContext;

/// <summary>Thrown for a record that is not a valid messenger message; the text is safe to show.</summary>
public sealed class MessengerProtocolException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Encodes and decodes messenger messages to and from record payloads (UTF-8 JSON).</summary>
public static class MessengerCodec
{
    // The messages of the chat path and the login go through HotPathCodec (same bytes, a fraction of the
    // allocations); everything else, and anything unusual, through the source-generated serializer.
    public static byte[] Encode(ClientMessage message) => message switch
    {
        SendRequest { To: not null, ContentType: not null, Body: not null } send => HotPathCodec.EncodeSendRequest(send),
        AckRequest { MessageIds: not null } ack => HotPathCodec.EncodeAck(ack),
        LoginRequest { User: not null } login => HotPathCodec.EncodeLogin(login),
        _ => EncodeGeneral(message),
    };

    public static byte[] Encode(ServerMessage message) => message switch
    {
        ChatMessage { From: not null, To: not null, ContentType: not null, Body: not null } chat => HotPathCodec.EncodeChatMessage(chat),
        SendResult { To: not null, Status: not null } result => HotPathCodec.EncodeSendResult(result),
        LoginResult { User: not null } login => HotPathCodec.EncodeLoginResult(login),
        _ => EncodeGeneral(message),
    };

    public static ClientMessage DecodeClient(ReadOnlySpan<byte> payload) =>
        HotPathCodec.TryDecodeClient(payload) ?? DecodeClientGeneral(payload);

    public static ServerMessage DecodeServer(ReadOnlySpan<byte> payload) =>
        HotPathCodec.TryDecodeServer(payload) ?? DecodeServerGeneral(payload);

    /// <summary>The serializer's encoding of any message: the contract HotPathCodec must match byte for byte.</summary>
    internal static byte[] EncodeGeneral(ClientMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, MessengerJsonContext.Default.ClientMessage);

    internal static byte[] EncodeGeneral(ServerMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, MessengerJsonContext.Default.ServerMessage);

    internal static ClientMessage DecodeClientGeneral(ReadOnlySpan<byte> payload) =>
        Decode(payload, static p => JsonSerializer.Deserialize(p, MessengerJsonContext.Default.ClientMessage));

    internal static ServerMessage DecodeServerGeneral(ReadOnlySpan<byte> payload) =>
        Decode(payload, static p => JsonSerializer.Deserialize(p, MessengerJsonContext.Default.ServerMessage));

    /// <summary>The body of a <see cref="GroupContentTypes.Changed"/> row.</summary>
    public static byte[] EncodeGroupChange(GroupChange change) => JsonSerializer.SerializeToUtf8Bytes(change, MessengerJsonContext.Default.GroupChange);

    /// <exception cref="MessengerProtocolException">Not a group change.</exception>
    public static GroupChange DecodeGroupChange(ReadOnlySpan<byte> body) =>
        Decode(body, static p => JsonSerializer.Deserialize(p, MessengerJsonContext.Default.GroupChange));

    private delegate T? Parser<T>(ReadOnlySpan<byte> payload);

    private static T Decode<T>(ReadOnlySpan<byte> payload, Parser<T> parse) where T : class
    {
        try
        {
            return parse(payload) ?? throw new MessengerProtocolException("an empty (null) message");
        }
        catch (JsonException e)
        {
            // The exception text can quote the payload; keep only the position.
            throw new MessengerProtocolException($"not a valid {typeof(T).Name} (JSON error at byte {e.BytePositionInLine ?? 0})", null);
        }
        catch (NotSupportedException)
        {
            throw new MessengerProtocolException($"not a valid {typeof(T).Name} (unknown or missing \"type\")");
        }
    }
}
