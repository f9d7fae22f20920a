// The four messages every chat message costs (send, send_result, message, ack), and the two every
// connection costs (login, login_result: a login storm pays them per connection, BENCHMARKS §2 (n)),
// encoded and decoded with Utf8JsonWriter/Utf8JsonReader directly. The bytes on the wire are exactly what the
// System.Text.Json contract produces (a test compares them); what changes is the cost: the
// polymorphic serializer allocated its read/write stack frames and argument state per call, about
// 1.2 KB per delivered message on the server (BENCHMARKS.md §2 (e)). Anything this reader does not
// recognise as the plain form of one of these messages (another type, "type" not first, a
// repeated, missing or null field, a number that is not an integer, trailing bytes) returns null,
// and MessengerCodec hands the payload to the general serializer, whose answer (or error) stands.
using System.Buffers;
using System.Text.Json;

namespace Parley.Messaging;

internal static class HotPathCodec
{
    // One writer per thread, reset per message: the serializer's own buffers were per call.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    // ── encoding ──

    internal static byte[] EncodeChatMessage(ChatMessage m) => Write(m, static (w, m) =>
    {
        w.WriteString("type"u8, "message"u8);
        w.WriteNumber("messageId"u8, m.MessageId);
        w.WriteString("from"u8, m.From);
        w.WriteString("to"u8, m.To);
        w.WriteNumber("timestamp"u8, m.Timestamp);
        w.WriteString("contentType"u8, m.ContentType);
        w.WriteBase64String("body"u8, m.Body);
        w.WriteBoolean("broadcast"u8, m.Broadcast);
        WriteIfSet(w, "toDevice"u8, m.ToDevice);
        WriteIfSet(w, "fromDevice"u8, m.FromDevice);
    });

    internal static byte[] EncodeSendResult(SendResult r) => Write(r, static (w, r) =>
    {
        w.WriteString("type"u8, "send_result"u8);
        w.WriteNumber("ref"u8, r.Ref);
        w.WriteNumber("messageId"u8, r.MessageId);
        w.WriteString("to"u8, r.To);
        w.WriteString("status"u8, r.Status);
        if (r.Devices is { } devices)
        {
            w.WriteStartArray("devices"u8);
            foreach (string device in devices)
            {
                w.WriteStringValue(device);
            }
            w.WriteEndArray();
        }
    });

    internal static byte[] EncodeSendRequest(SendRequest s) => Write(s, static (w, s) =>
    {
        w.WriteString("type"u8, "send"u8);
        w.WriteNumber("ref"u8, s.Ref);
        w.WriteString("to"u8, s.To);
        w.WriteString("contentType"u8, s.ContentType);
        w.WriteBase64String("body"u8, s.Body);
        WriteIfSet(w, "toDevice"u8, s.ToDevice);
    });

    internal static byte[] EncodeAck(AckRequest a) => Write(a, static (w, a) =>
    {
        w.WriteString("type"u8, "ack"u8);
        w.WriteStartArray("messageIds"u8);
        foreach (long id in a.MessageIds)
        {
            w.WriteNumberValue(id);
        }
        w.WriteEndArray();
    });

    internal static byte[] EncodeLogin(LoginRequest l) => Write(l, static (w, l) =>
    {
        w.WriteString("type"u8, "login"u8);
        w.WriteString("user"u8, l.User);
        WriteIfSet(w, "password"u8, l.Password);
        WriteIfSet(w, "deviceToken"u8, l.DeviceToken);
        if (l.Register is { } register)
        {
            w.WriteBoolean("register"u8, register);
        }
        WriteIfSet(w, "compact"u8, l.Compact);
    });

    internal static byte[] EncodeLoginResult(LoginResult r) => Write(r, static (w, r) =>
    {
        w.WriteString("type"u8, "login_result"u8);
        w.WriteBoolean("success"u8, r.Success);
        w.WriteString("user"u8, r.User);
        WriteIfSet(w, "deviceToken"u8, r.DeviceToken);
        w.WriteBoolean("registered"u8, r.Registered);
        WriteIfSet(w, "error"u8, r.Error);
        w.WriteNumber("retryAfterSeconds"u8, r.RetryAfterSeconds);
        WriteIfSet(w, "accountId"u8, r.AccountId);
        w.WriteNumber("maxBodyLength"u8, r.MaxBodyLength);
        WriteIfSet(w, "deviceId"u8, r.DeviceId);
        WriteIfSet(w, "code"u8, r.Code);
        WriteIfSet(w, "compact"u8, r.Compact);
    });

    private static void WriteIfSet(Utf8JsonWriter w, ReadOnlySpan<byte> name, int? value)
    {
        if (value is { } number)
        {
            w.WriteNumber(name, number);
        }
    }

    private static void WriteIfSet(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static byte[] Write<T>(T message, Action<Utf8JsonWriter, T> writeProperties)
    {
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        Utf8JsonWriter writer = t_writer ??= new Utf8JsonWriter(buffer);
        try
        {
            writer.WriteStartObject();
            writeProperties(writer, message);
            writer.WriteEndObject();
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            writer.Reset(buffer);
            // Clear, not ResetWrittenCount: a message body must not linger in a thread's buffer.
            buffer.Clear();
            // A buffer grown by one large message is not kept for the thread's lifetime.
            if (buffer.Capacity > 64 * 1024)
            {
                t_buffer = null;
                t_writer = null;
            }
        }
    }

    // ── decoding ──

    /// <summary>A <c>send</c>, <c>ack</c> or <c>login</c> in its plain form; null for anything else.</summary>
    internal static ClientMessage? TryDecodeClient(ReadOnlySpan<byte> payload)
    {
        try
        {
            Utf8JsonReader reader = new(payload);
            if (!StartsWithType(ref reader))
            {
                return null;
            }
            if (reader.ValueTextEquals("send"u8))
            {
                return ReadSend(ref reader);
            }
            if (reader.ValueTextEquals("ack"u8))
            {
                return ReadAck(ref reader);
            }
            if (reader.ValueTextEquals("login"u8))
            {
                return ReadLogin(ref reader);
            }
            return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A <c>message</c>, <c>send_result</c> or <c>login_result</c> in its plain form; null for anything else.</summary>
    internal static ServerMessage? TryDecodeServer(ReadOnlySpan<byte> payload)
    {
        try
        {
            Utf8JsonReader reader = new(payload);
            if (!StartsWithType(ref reader))
            {
                return null;
            }
            if (reader.ValueTextEquals("message"u8))
            {
                return ReadChatMessage(ref reader);
            }
            if (reader.ValueTextEquals("send_result"u8))
            {
                return ReadSendResult(ref reader);
            }
            if (reader.ValueTextEquals("login_result"u8))
            {
                return ReadLoginResult(ref reader);
            }
            return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Positions the reader on the value of a leading "type" string property.</summary>
    private static bool StartsWithType(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.StartObject &&
        reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("type"u8) &&
        reader.Read() && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped;

    private static SendRequest? ReadSend(ref Utf8JsonReader reader)
    {
        long? reference = null;
        string? to = null, contentType = null, toDevice = null;
        byte[]? body = null;
        bool toDeviceSeen = false;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "ref"u8))
            {
                if (reference is not null || !ReadInt64(ref reader, out long value)) { return null; }
                reference = value;
            }
            else if (Is(ref reader, "to"u8))
            {
                if (to is not null || (to = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "contentType"u8))
            {
                if (contentType is not null || (contentType = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "body"u8))
            {
                if (body is not null || (body = ReadBase64(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "toDevice"u8))
            {
                if (toDeviceSeen || (toDevice = ReadString(ref reader)) is null) { return null; }
                toDeviceSeen = true;
            }
            else
            {
                return null;
            }
        }
        return reference is { } r && to is not null && contentType is not null && body is not null && AtEnd(ref reader)
            ? new SendRequest(r, to, contentType, body, toDevice)
            : null;
    }

    private static AckRequest? ReadAck(ref Utf8JsonReader reader)
    {
        long[]? ids = null;
        while (NextProperty(ref reader))
        {
            if (!Is(ref reader, "messageIds"u8) || ids is not null || (ids = ReadInt64Array(ref reader)) is null)
            {
                return null;
            }
        }
        return ids is not null && AtEnd(ref reader) ? new AckRequest(ids) : null;
    }

    private static ChatMessage? ReadChatMessage(ref Utf8JsonReader reader)
    {
        long? id = null, timestamp = null;
        string? from = null, to = null, contentType = null, toDevice = null, fromDevice = null;
        byte[]? body = null;
        bool? broadcast = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "messageId"u8))
            {
                if (id is not null || !ReadInt64(ref reader, out long value)) { return null; }
                id = value;
            }
            else if (Is(ref reader, "from"u8))
            {
                if (from is not null || (from = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "to"u8))
            {
                if (to is not null || (to = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "timestamp"u8))
            {
                if (timestamp is not null || !ReadInt64(ref reader, out long value)) { return null; }
                timestamp = value;
            }
            else if (Is(ref reader, "contentType"u8))
            {
                if (contentType is not null || (contentType = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "body"u8))
            {
                if (body is not null || (body = ReadBase64(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "broadcast"u8))
            {
                if (broadcast is not null || !reader.Read() || reader.TokenType is not (JsonTokenType.True or JsonTokenType.False)) { return null; }
                broadcast = reader.GetBoolean();
            }
            else if (Is(ref reader, "toDevice"u8))
            {
                if (toDevice is not null || (toDevice = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "fromDevice"u8))
            {
                if (fromDevice is not null || (fromDevice = ReadString(ref reader)) is null) { return null; }
            }
            else
            {
                return null;
            }
        }
        return id is { } i && timestamp is { } t && broadcast is { } b && from is not null && to is not null && contentType is not null && body is not null && AtEnd(ref reader)
            ? new ChatMessage(i, from, to, t, contentType, body, b, toDevice, fromDevice)
            : null;
    }

    private static SendResult? ReadSendResult(ref Utf8JsonReader reader)
    {
        long? reference = null, id = null;
        string? to = null, status = null;
        string[]? devices = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "ref"u8))
            {
                if (reference is not null || !ReadInt64(ref reader, out long value)) { return null; }
                reference = value;
            }
            else if (Is(ref reader, "messageId"u8))
            {
                if (id is not null || !ReadInt64(ref reader, out long value)) { return null; }
                id = value;
            }
            else if (Is(ref reader, "to"u8))
            {
                if (to is not null || (to = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "status"u8))
            {
                if (status is not null || (status = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "devices"u8))
            {
                if (devices is not null || (devices = ReadStringArray(ref reader)) is null) { return null; }
            }
            else
            {
                return null;
            }
        }
        return reference is { } r && id is { } i && to is not null && status is not null && AtEnd(ref reader)
            ? new SendResult(r, i, to, status, devices)
            : null;
    }

    // A null is written for no optional field (the contract omits them), so one read here is refused.
    private static LoginRequest? ReadLogin(ref Utf8JsonReader reader)
    {
        string? user = null, password = null, deviceToken = null;
        bool? register = null;
        int? compact = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "user"u8))
            {
                if (user is not null || (user = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "password"u8))
            {
                if (password is not null || (password = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "deviceToken"u8))
            {
                if (deviceToken is not null || (deviceToken = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "register"u8))
            {
                if (register is not null || !ReadBoolean(ref reader, out bool value)) { return null; }
                register = value;
            }
            else if (Is(ref reader, "compact"u8))
            {
                if (compact is not null || !ReadInt32(ref reader, out int value)) { return null; }
                compact = value;
            }
            else
            {
                return null;
            }
        }
        return user is not null && AtEnd(ref reader) ? new LoginRequest(user, password, deviceToken, register, compact) : null;
    }

    private static LoginResult? ReadLoginResult(ref Utf8JsonReader reader)
    {
        bool? success = null, registered = null;
        string? user = null, deviceToken = null, error = null, accountId = null, deviceId = null, code = null;
        int? retryAfter = null, maxBodyLength = null, compact = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "success"u8))
            {
                if (success is not null || !ReadBoolean(ref reader, out bool value)) { return null; }
                success = value;
            }
            else if (Is(ref reader, "user"u8))
            {
                if (user is not null || (user = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "deviceToken"u8))
            {
                if (deviceToken is not null || (deviceToken = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "registered"u8))
            {
                if (registered is not null || !ReadBoolean(ref reader, out bool value)) { return null; }
                registered = value;
            }
            else if (Is(ref reader, "error"u8))
            {
                if (error is not null || (error = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "retryAfterSeconds"u8))
            {
                if (retryAfter is not null || !ReadInt32(ref reader, out int value)) { return null; }
                retryAfter = value;
            }
            else if (Is(ref reader, "accountId"u8))
            {
                if (accountId is not null || (accountId = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "maxBodyLength"u8))
            {
                if (maxBodyLength is not null || !ReadInt32(ref reader, out int value)) { return null; }
                maxBodyLength = value;
            }
            else if (Is(ref reader, "deviceId"u8))
            {
                if (deviceId is not null || (deviceId = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "code"u8))
            {
                if (code is not null || (code = ReadString(ref reader)) is null) { return null; }
            }
            else if (Is(ref reader, "compact"u8))
            {
                if (compact is not null || !ReadInt32(ref reader, out int value)) { return null; }
                compact = value;
            }
            else
            {
                return null;
            }
        }
        // The serializer requires the constructor's non-optional arguments no more than the plain
        // form needs them all; anything short of the full plain form goes to it.
        return success is { } ok && user is not null && registered is { } r && retryAfter is { } retry && maxBodyLength is { } max && AtEnd(ref reader)
            ? new LoginResult(ok, user, deviceToken, r, error, retry, accountId, max, deviceId, code, compact)
            : null;
    }

    /// <summary>Moves to the next property name; false at the end of the object.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("truncated");
        }
        return reader.TokenType switch
        {
            JsonTokenType.PropertyName => true,
            JsonTokenType.EndObject => false,
            _ => throw new JsonException("not an object"),
        };
    }

    // An escaped name (\u0074o for "to") is left to the general serializer.
    private static bool Is(ref Utf8JsonReader reader, ReadOnlySpan<byte> name) => !reader.ValueIsEscaped && reader.ValueSpan.SequenceEqual(name);

    /// <summary>Nothing may follow the object.</summary>
    private static bool AtEnd(ref Utf8JsonReader reader) => !reader.Read();

    private static bool ReadInt64(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool ReadInt32(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    private static bool ReadBoolean(ref Utf8JsonReader reader, out bool value)
    {
        value = reader.Read() && reader.TokenType == JsonTokenType.True;
        return reader.TokenType is JsonTokenType.True or JsonTokenType.False;
    }

    private static string? ReadString(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;

    private static byte[]? ReadBase64(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetBytesFromBase64(out byte[]? bytes) ? bytes : null;

    private static long[]? ReadInt64Array(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }
        List<long> ids = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long id))
            {
                return null;
            }
            ids.Add(id);
        }
        return reader.TokenType == JsonTokenType.EndArray ? [.. ids] : null;
    }

    private static string[]? ReadStringArray(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }
        List<string> values = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return null;
            }
            values.Add(reader.GetString()!);
        }
        return reader.TokenType == JsonTokenType.EndArray ? [.. values] : null;
    }
}
