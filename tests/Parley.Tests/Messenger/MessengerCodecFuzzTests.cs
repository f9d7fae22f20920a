using System.Text;
using Parley.Messaging;
using Parley.Tests.Support;
using Xunit.Abstractions;

namespace Parley.Tests.Messenger;

/// <summary>
/// Random and mutated JSON against both decoders: a record from the network may only ever produce
/// a message or a <see cref="MessengerProtocolException"/>, in bounded time and memory. Seeded, so a
/// failure replays; the seed and the input are in the failure message.
/// </summary>
public class MessengerCodecFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 15_2026;
    private const int Iterations = 6_000;

    /// <summary>Bytes one decode may allocate per input byte (strings are UTF-16, so 2 per byte, plus parser state).</summary>
    private const long AllocationPerInputByte = 16;
    private const long AllocationOverhead = 64 * 1024;

    private static readonly byte[][] s_validClient =
    [
        MessengerCodec.Encode(new LoginRequest("alice", "correct horse battery", null)),
        MessengerCodec.Encode(new LoginRequest("alice", null, "token")),
        MessengerCodec.Encode(new SendRequest(7, "bob", MessengerLimits.TextContentType, Encoding.UTF8.GetBytes("hello there"))),
        MessengerCodec.Encode(new BroadcastRequest(8, MessengerLimits.TextContentType, [1, 2, 3])),
        MessengerCodec.Encode(new AckRequest([1, 2, 3, long.MaxValue])),
        MessengerCodec.Encode(new ListRequest(9, "carol")),
        MessengerCodec.Encode(new PingMessage()),
        MessengerCodec.Encode(new RevokeDeviceRequest(3, "device")),
    ];

    private static readonly byte[][] s_validServer =
    [
        MessengerCodec.Encode(new SendResult(1, 2, "bob", "stored")),
        MessengerCodec.Encode(new BroadcastResult(1, 3)),
        MessengerCodec.Encode(new UserList(1, ["alice", "bob"], More: true)),
        MessengerCodec.Encode(new ChatMessage(5, "alice", "bob", 1_700_000_000_000, MessengerLimits.TextContentType, [104, 105], false)),
        MessengerCodec.Encode(new ErrorMessage(1, ErrorCodes.BadRequest, "nope", 3)),
        MessengerCodec.Encode(new ServerPing()),
    ];

    private const string Structural = "{}[]\":,0\\ ";

    /// <summary>Fragments that steer mutations into the parser's corners.</summary>
    private static readonly string[] s_fragments =
    [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "-0", "1e999", "-9223372036854775809", "18446744073709551616",
        "\"type\"", "\"type\":\"send\"", "\"type\":1", "\"body\":\"!!!\"", "\"body\":\"AAAA\"", "\"messageIds\":[", "\\u0000",
        "\\ud800", "\"$type\"", "\"$id\":\"1\"", "\"$ref\":\"1\"", "\"ref\":1.5", "\"ref\":\"1\"", "\"to\":null", "/*", "\u00ff",
    ];

    [Fact]
    public async Task Mutated_and_random_records_decode_or_fail_with_MessengerProtocolException_only()
    {
        // A hang is caught by the generous event timeout, not by timing the decoder.
        await Task.Run(() => Fuzz(Seed)).WaitAsync(TestTimeouts.Event);
    }

    [Fact]
    public void Nesting_beyond_the_parser_depth_is_a_protocol_error()
    {
        byte[] deep = Encoding.UTF8.GetBytes("{\"type\":\"ack\",\"messageIds\":" + new string('[', 100_000) + new string(']', 100_000) + "}");
        Assert.Throws<MessengerProtocolException>(() => MessengerCodec.DecodeClient(deep));
        Assert.Throws<MessengerProtocolException>(() => MessengerCodec.DecodeServer(deep));
    }

    private void Fuzz(int seed)
    {
        Random random = new(seed);
        // Warm up the serializer's metadata so allocation is measured per input, not per first call.
        _ = MessengerCodec.DecodeClient(s_validClient[0]);
        _ = MessengerCodec.DecodeServer(s_validServer[0]);
        int decoded = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = (i % 4) switch
            {
                0 => RandomBytes(random),
                1 => Mutate(random, s_validClient[random.Next(s_validClient.Length)]),
                2 => Mutate(random, s_validServer[random.Next(s_validServer.Length)]),
                _ => RandomJson(random),
            };
            decoded += Check(seed, i, input, p => MessengerCodec.DecodeClient(p));
            decoded += Check(seed, i, input, p => MessengerCodec.DecodeServer(p));
        }
        // Mutations that still parse prove the fuzzer reaches past the first byte.
        output.WriteLine($"seed {seed}: {decoded} of {2 * Iterations} inputs decoded");
        Assert.True(decoded > 0, $"seed {seed}: no input decoded; the mutations never reach the message types");
    }

    private static int Check(int seed, int iteration, byte[] input, Func<byte[], object> decode)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        int decoded = 0;
        try
        {
            _ = decode(input);
            decoded = 1;
        }
        catch (MessengerProtocolException)
        {
        }
        catch (Exception e)
        {
            Assert.Fail($"seed {seed}, iteration {iteration}: {e.GetType().Name} ({e.Message}) for input {Convert.ToBase64String(input)}");
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long bound = AllocationOverhead + AllocationPerInputByte * input.Length;
        Assert.True(allocated <= bound, $"seed {seed}, iteration {iteration}: {allocated} bytes allocated for {input.Length} input bytes (bound {bound})");
        return decoded;
    }

    private static byte[] RandomBytes(Random random)
    {
        byte[] bytes = new byte[random.Next(0, 512)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] valid)
    {
        List<byte> bytes = [.. valid];
        int edits = random.Next(1, 6);
        for (int e = 0; e < edits; e++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 8), bytes.Count - at));
                    break;
                case 2:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(s_fragments[random.Next(s_fragments.Length)]));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 4 when bytes.Count > 0:
                    int length = Math.Min(random.Next(1, 32), bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default:
                    bytes.Insert(at, (byte)Structural[random.Next(Structural.Length)]);
                    break;
            }
        }
        return [.. bytes];
    }

    private static byte[] RandomJson(Random random)
    {
        StringBuilder json = new();
        json.Append("{\"type\":").Append(RandomType(random));
        int fields = random.Next(0, 8);
        string[] names = ["ref", "to", "user", "password", "deviceToken", "contentType", "body", "messageIds", "after", "messageId", "from", "users", "more", "code", "message", "success", "timestamp", "broadcast"];
        for (int f = 0; f < fields; f++)
        {
            json.Append(",\"").Append(names[random.Next(names.Length)]).Append("\":");
            AppendValue(json, random, depth: 0);
        }
        json.Append('}');
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    private static string RandomType(Random random)
    {
        string[] types = ["\"login\"", "\"send\"", "\"broadcast\"", "\"ack\"", "\"list\"", "\"ping\"", "\"pong\"", "\"devices\"", "\"revoke_device\"",
            "\"login_result\"", "\"send_result\"", "\"broadcast_result\"", "\"users\"", "\"message\"", "\"error\"", "\"device_list\"", "\"device_revoked\"",
            "\"nope\"", "null", "1", "[]", "{}", "\"\""];
        return types[random.Next(types.Length)];
    }

    private static void AppendValue(StringBuilder json, Random random, int depth)
    {
        switch (random.Next(depth > 3 ? 6 : 8))
        {
            case 0: json.Append("null"); break;
            case 1: json.Append(random.Next(2) == 0 ? "true" : "false"); break;
            case 2: json.Append(random.NextInt64(long.MinValue, long.MaxValue)); break;
            case 3: json.Append(random.NextDouble() * 1e300); break;
            case 4: json.Append('"').Append(Convert.ToBase64String(RandomBytes(random))).Append('"'); break;
            case 5: json.Append("\"\\u").Append(random.Next(0x10000).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)).Append('"'); break;
            case 6:
                json.Append('[');
                for (int i = random.Next(0, 5); i > 0; i--)
                {
                    AppendValue(json, random, depth + 1);
                    json.Append(i > 1 ? "," : "");
                }
                json.Append(']');
                break;
            default:
                json.Append("{\"k\":");
                AppendValue(json, random, depth + 1);
                json.Append('}');
                break;
        }
    }
}
