// Peer-to-peer chat messages inside the channel (PROTOCOL.md §12): one JSON object per record.
using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Messaging;

namespace Parley.Peer;

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(PeerHello), "hello")]
[JsonDerivedType(typeof(PeerReady), "ready")]
[JsonDerivedType(typeof(PeerSelect), "select")]
[JsonDerivedType(typeof(PeerDuplicate), "duplicate")]
[JsonDerivedType(typeof(PeerText), "text")]
[JsonDerivedType(typeof(PeerBye), "bye")]
public abstract record PeerMessage;

/// <summary>First message each way: the name the key is pinned under.</summary>
public sealed record PeerHello(string Name) : PeerMessage;

/// <summary>The sender trusts the receiver's (name, key); sent before any session choice.</summary>
public sealed record PeerReady : PeerMessage;

/// <summary>From the deciding side: this connection is the session.</summary>
public sealed record PeerSelect : PeerMessage;

/// <summary>From the deciding side: another connection already is the session; this one closes.</summary>
public sealed record PeerDuplicate : PeerMessage;

public sealed record PeerText(string Text) : PeerMessage
{
    public override string ToString() => $"PeerText({Text.Length} chars)";
}

/// <summary>The sender is leaving (or refuses the session, with a reason).</summary>
public sealed record PeerBye(string? Reason) : PeerMessage;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PeerMessage))]
internal sealed partial class PeerJsonContext : JsonSerializerContext;

public static class PeerCodec
{
    public static byte[] Encode(PeerMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, PeerJsonContext.Default.PeerMessage);

    public static PeerMessage Decode(ReadOnlySpan<byte> payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, PeerJsonContext.Default.PeerMessage) ?? throw new MessengerProtocolException("an empty peer message");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new MessengerProtocolException("not a valid peer message");
        }
    }
}
