using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// Random and mutated input for the frame and handshake parsers. The only acceptable outcomes are
/// a parse or a <see cref="ParleyProtocolException"/>: any other exception is a crash we'd ship.
/// Seeded, so a failure reproduces.
/// </summary>
public class ParserFuzzTests
{
    private const int Seed = 20261122;

    [Fact]
    public void Frame_and_message_parsers_survive_100000_random_and_mutated_inputs()
    {
        Random random = new(Seed);
        List<byte[]> corpus = ValidMessages();
        int inputs = 0, parsed = 0;
        for (int i = 0; i < 100_000; i++)
        {
            byte[] input = i % 3 == 0 ? RandomBytes(random) : Mutate(random, corpus[random.Next(corpus.Count)]);
            parsed += ParseEverything(input) ? 1 : 0;
            inputs++;
        }
        Assert.Equal(100_000, inputs);
        // Mutations of valid messages that leave them valid must still parse: the fuzzer is not only hitting errors.
        Assert.True(parsed > 1000, $"only {parsed} inputs parsed");
    }

    [Fact]
    public void Handshake_state_machines_survive_mutated_messages()
    {
        Random random = new(Seed + 1);
        List<byte[]> corpus = ValidMessages();
        for (int i = 0; i < 3000; i++)
        {
            byte[] input = Mutate(random, corpus[random.Next(corpus.Count)]);
            using ServerHandshake server = new(HandshakeHarness.ServerOptions());
            Expect(() => server.ReadMessage(input));
            using ClientHandshake client = new(HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519));
            client.Start();
            Expect(() => client.ReadMessage(input));
        }
    }

    private static bool ParseEverything(byte[] input)
    {
        bool any = false;
        FrameDecoder decoder = new(Frame.MaxHandshakeBodyLength);
        any |= Expect(() =>
        {
            decoder.Append(input);
            while (decoder.TryReadFrame(out _))
            {
            }
        });
        any |= Expect(() => ClientHello.Decode(input));
        any |= Expect(() => ServerHello.Decode(input, out _));
        any |= Expect(() => HelloRetryRequest.Decode(input));
        any |= Expect(() => Alert.DecodePayload(input));
        return any;
    }

    private static bool Expect(Action parse)
    {
        try
        {
            parse();
            return true;
        }
        catch (ParleyProtocolException)
        {
            return false;
        }
    }

    private static List<byte[]> ValidMessages()
    {
        List<byte[]> corpus = [];
        foreach (KeyAgreementAlgorithm group in KeyAgreementAlgorithms.All)
        {
            HandshakeHarness.Run(HandshakeHarness.ClientOptions(group), HandshakeHarness.ServerOptions(group), (_, body) =>
            {
                corpus.Add(body);
                return body;
            });
        }
        corpus.Add(new HelloRetryRequest(1, "p256").Encode());
        corpus.Add(new Alert(ProtocolError.NoCommonGroup, "no common group").EncodePayload());
        corpus.Add(Frame.Wrap(corpus[0]));
        return corpus;
    }

    private static byte[] RandomBytes(Random random)
    {
        byte[] bytes = new byte[random.Next(0, 300)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        byte[] bytes = (byte[])original.Clone();
        switch (random.Next(6))
        {
            case 0:
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1:
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 2:
                return bytes[..random.Next(bytes.Length)];
            case 3:
                byte[] extra = new byte[random.Next(1, 9)];
                random.NextBytes(extra);
                return [.. bytes, .. extra];
            case 4:
                int at = random.Next(bytes.Length);
                bytes[at] = random.Next(2) == 0 ? (byte)0 : (byte)0xFF;
                return bytes;
            default:
                // Duplicate a slice in place, as a confused encoder would.
                int start = random.Next(bytes.Length);
                int length = random.Next(bytes.Length - start);
                return [.. bytes[..(start + length)], .. bytes[start..]];
        }
    }
}
