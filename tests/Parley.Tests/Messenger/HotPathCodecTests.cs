using System.Text;
using Parley.Messaging;

namespace Parley.Tests.Messenger;

/// <summary>
/// The chat path's own encoder and decoder (HotPathCodec) against the source-generated serializer,
/// which is the contract: identical bytes out, and for any input the same message or the same refusal.
/// </summary>
public class HotPathCodecTests
{
    private static readonly string[] s_strings =
    [
        "", "bob", "alice-2", "text/plain; charset=utf-8", "héllo wörld", "日本語", "emoji 🦜", "<script>&'\"+\\",
        "tab\tnew\nline", "\u0000\u001f\u007f", "a/b", "device-0123456789abcdef", new string('x', 300),
    ];

    public static IEnumerable<object[]> Seeds() => Enumerable.Range(1, 12).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_four_chat_messages_encode_to_exactly_the_serializers_bytes_and_decode_back(int seed)
    {
        Random random = new(seed);
        for (int i = 0; i < 200; i++)
        {
            SendRequest send = new(Long(random), Str(random), Str(random), Body(random), random.Next(2) == 0 ? null : Str(random));
            AckRequest ack = new(Enumerable.Range(0, random.Next(0, 20)).Select(_ => Long(random)).ToArray());
            ChatMessage chat = new(Long(random), Str(random), Str(random), Long(random), Str(random), Body(random), random.Next(2) == 0,
                random.Next(2) == 0 ? null : Str(random), random.Next(2) == 0 ? null : Str(random));
            SendResult result = new(Long(random), Long(random), Str(random), Str(random),
                random.Next(2) == 0 ? null : Enumerable.Range(0, random.Next(0, 4)).Select(_ => Str(random)).ToArray());

            foreach (ClientMessage message in new ClientMessage[] { send, ack })
            {
                byte[] expected = MessengerCodec.EncodeGeneral(message);
                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(MessengerCodec.Encode(message)));
                ClientMessage? fast = HotPathCodec.TryDecodeClient(expected);
                Assert.NotNull(fast);
                Assert.Equal(expected, MessengerCodec.EncodeGeneral(fast));
            }
            foreach (ServerMessage message in new ServerMessage[] { chat, result })
            {
                byte[] expected = MessengerCodec.EncodeGeneral(message);
                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(MessengerCodec.Encode(message)));
                ServerMessage? fast = HotPathCodec.TryDecodeServer(expected);
                Assert.NotNull(fast);
                Assert.Equal(expected, MessengerCodec.EncodeGeneral(fast));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Login_and_its_result_encode_to_exactly_the_serializers_bytes_and_decode_back(int seed)
    {
        Random random = new(seed);
        for (int i = 0; i < 200; i++)
        {
            LoginRequest login = new(Str(random), Maybe(random, Str), Maybe(random, Str),
                random.Next(3) switch { 0 => null, 1 => true, _ => false }, random.Next(2) == 0 ? null : Int(random));
            LoginResult result = new(random.Next(2) == 0, Str(random), Maybe(random, Str), random.Next(2) == 0, Maybe(random, Str), Int(random),
                Maybe(random, Str), Int(random), Maybe(random, Str), Maybe(random, Str), random.Next(2) == 0 ? null : Int(random));

            byte[] expected = MessengerCodec.EncodeGeneral(login);
            Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(MessengerCodec.Encode(login)));
            Assert.Equal(login, HotPathCodec.TryDecodeClient(expected));

            expected = MessengerCodec.EncodeGeneral(result);
            Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(MessengerCodec.Encode(result)));
            Assert.Equal(result, HotPathCodec.TryDecodeServer(expected));
        }
    }

    [Theory]
    [InlineData("""{"type":"login","user":"bob","deviceToken":"t"}""")]
    [InlineData("""{"type":"login","user":"bob","password":"p","register":false,"compact":1}""")]
    [InlineData("""{"user":"bob","type":"login","deviceToken":"t"}""")]
    [InlineData("""{"type":"login","deviceToken":"t"}""")]
    [InlineData("""{"type":"login","user":null,"deviceToken":"t"}""")]
    [InlineData("""{"type":"login","user":"bob","user":"eve","deviceToken":"t"}""")]
    [InlineData("""{"type":"login","user":"bob","password":null}""")]
    [InlineData("""{"type":"login","user":"bob","register":"yes"}""")]
    [InlineData("""{"type":"login","user":"bob","register":null}""")]
    [InlineData("""{"type":"login","user":"bob","compact":1.5}""")]
    [InlineData("""{"type":"login","user":"bob","compact":4294967296}""")]
    [InlineData("""{"type":"login","user":"bob","compact":"1"}""")]
    [InlineData("""{"type":"login","user":"bob","admin":true}""")]
    [InlineData("""{"type":"login","u\u0073er":"bob","deviceToken":"t"}""")]
    [InlineData("""{"type":"login","user":"bob","deviceToken":"t"}x""")]
    [InlineData("""{"type":"login","user":"bob","deviceToken":"t" """)]
    [InlineData("""{"type":"login","user":"bob","deviceToken":7}""")]
    public void Unusual_login_input_gets_the_serializers_answer(string json)
    {
        byte[] payload = Encoding.UTF8.GetBytes(json);
        Assert.Equal(Outcome(() => MessengerCodec.DecodeClientGeneral(payload)), Outcome(() => MessengerCodec.DecodeClient(payload)));
    }

    [Theory]
    [InlineData("""{"type":"login_result","success":true,"user":"b","registered":false,"retryAfterSeconds":0,"maxBodyLength":65536}""")]
    [InlineData("""{"type":"login_result","success":true,"user":"b","registered":false,"retryAfterSeconds":0}""")]
    [InlineData("""{"type":"login_result","user":"b"}""")]
    [InlineData("""{"type":"login_result","success":"true","user":"b","registered":false,"retryAfterSeconds":0,"maxBodyLength":1}""")]
    [InlineData("""{"type":"login_result","success":true,"user":"b","registered":false,"retryAfterSeconds":0.5,"maxBodyLength":1}""")]
    [InlineData("""{"type":"login_result","success":true,"user":"b","registered":false,"retryAfterSeconds":0,"maxBodyLength":1,"error":null}""")]
    [InlineData("""{"type":"login_result","success":true,"success":false,"user":"b","registered":false,"retryAfterSeconds":0,"maxBodyLength":1}""")]
    [InlineData("""{"type":"login_result","success":true,"user":"b","registered":false,"retryAfterSeconds":0,"maxBodyLength":1,"compact":1,"x":1}""")]
    public void Unusual_login_result_input_gets_the_serializers_answer(string json)
    {
        byte[] payload = Encoding.UTF8.GetBytes(json);
        Assert.Equal(Outcome(() => MessengerCodec.DecodeServerGeneral(payload)), Outcome(() => MessengerCodec.DecodeServer(payload)));
    }

    // Inputs the fast reader must not take for the plain form; whatever it does, the answer must be
    // the serializer's (the same message, or a refusal).
    [Theory]
    [InlineData("""{"ref":1,"type":"send","to":"bob","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"aGk=","extra":5}""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","to":"eve","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":1,"contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":1,"to":null,"contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":1.5,"to":"bob","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":"1","to":"bob","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"not base64!"}""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"aGk=","toDevice":null}""")]
    [InlineData("""{"type":"send","ref":1,"\u0074o":"bob","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"\u0073end","ref":1,"to":"bob","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"aGk="} """)]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"aGk="}{}""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"aGk=",}""")]
    [InlineData("""{"type":"send","ref":99999999999999999999,"to":"bob","contentType":"t","body":"aGk="}""")]
    [InlineData("""{"type":"ack","messageIds":[1,2,3]}""")]
    [InlineData("""{"type":"ack","messageIds":[]}""")]
    [InlineData("""{"type":"ack","messageIds":null}""")]
    [InlineData("""{"type":"ack","messageIds":[1,"2"]}""")]
    [InlineData("""{"type":"ack","messageIds":[1],"messageIds":[2]}""")]
    [InlineData("""{"type":"ack"}""")]
    [InlineData("""{"type":"list","ref":3}""")]
    [InlineData("""{"type":"nonsense"}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""{"type":"send","ref":1,"to":"bob","contentType":"t","body":"aGk=" """)]
    public void Unusual_client_input_gets_the_serializers_answer(string json)
    {
        byte[] payload = Encoding.UTF8.GetBytes(json);
        Assert.Equal(Outcome(() => MessengerCodec.DecodeClientGeneral(payload)), Outcome(() => MessengerCodec.DecodeClient(payload)));
    }

    [Theory]
    [InlineData("""{"type":"message","messageId":7,"from":"a","to":"b","timestamp":1,"contentType":"t","body":"","broadcast":false}""")]
    [InlineData("""{"type":"message","messageId":7,"from":"a","to":"b","timestamp":1,"contentType":"t","body":"","broadcast":"no"}""")]
    [InlineData("""{"type":"message","messageId":7,"from":"a","to":"b","timestamp":1,"contentType":"t","body":""}""")]
    [InlineData("""{"messageId":7,"type":"message","from":"a","to":"b","timestamp":1,"contentType":"t","body":"","broadcast":true}""")]
    [InlineData("""{"type":"message","messageId":7,"from":"a","to":"b","timestamp":1,"contentType":"t","body":"","broadcast":true,"fromDevice":null}""")]
    [InlineData("""{"type":"send_result","ref":1,"messageId":2,"to":"b","status":"queued"}""")]
    [InlineData("""{"type":"send_result","ref":1,"messageId":2,"to":"b","status":"queued","devices":["x",null]}""")]
    [InlineData("""{"type":"send_result","ref":1,"messageId":2,"to":"b","status":"queued","devices":null}""")]
    [InlineData("""{"type":"send_result","ref":1,"messageId":2,"to":"b"}""")]
    [InlineData("""{"type":"error","ref":1,"code":"bad_request","message":"m"}""")]
    public void Unusual_server_input_gets_the_serializers_answer(string json)
    {
        byte[] payload = Encoding.UTF8.GetBytes(json);
        Assert.Equal(Outcome(() => MessengerCodec.DecodeServerGeneral(payload)), Outcome(() => MessengerCodec.DecodeServer(payload)));
    }

    private static string Outcome(Func<ClientMessage> decode)
    {
        try
        {
            return "ok " + Encoding.UTF8.GetString(MessengerCodec.EncodeGeneral(decode()));
        }
        catch (MessengerProtocolException e)
        {
            return "refused " + e.Message;
        }
    }

    private static string Outcome(Func<ServerMessage> decode)
    {
        try
        {
            return "ok " + Encoding.UTF8.GetString(MessengerCodec.EncodeGeneral(decode()));
        }
        catch (MessengerProtocolException e)
        {
            return "refused " + e.Message;
        }
    }

    private static long Long(Random random) => random.Next(4) switch
    {
        0 => random.Next(0, 1000),
        1 => long.MaxValue - random.Next(0, 3),
        2 => -random.NextInt64(),
        _ => random.NextInt64(),
    };

    private static string Str(Random random) => s_strings[random.Next(s_strings.Length)];

    private static string? Maybe(Random random, Func<Random, string> value) => random.Next(2) == 0 ? null : value(random);

    private static int Int(Random random) => random.Next(3) switch
    {
        0 => random.Next(0, 100),
        1 => int.MaxValue - random.Next(0, 3),
        _ => random.Next(int.MinValue, int.MaxValue),
    };

    private static byte[] Body(Random random)
    {
        byte[] body = new byte[random.Next(4) == 0 ? 0 : random.Next(1, 400)];
        random.NextBytes(body);
        return body;
    }
}
