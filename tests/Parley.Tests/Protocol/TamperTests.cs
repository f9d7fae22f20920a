using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>Flipping any bit of any handshake message must fail the handshake, never complete it.</summary>
public class TamperTests
{
    public static TheoryData<string, string> Messages() => new()
    {
        { "x25519", "ClientHello" }, { "x25519", "ServerHello" }, { "x25519", "Finished" },
        { "p256", "ClientHello" }, { "p256", "ServerHello" }, { "p256", "Finished" },
        { "modp2048", "ClientHello" }, { "modp2048", "ServerHello" }, { "modp2048", "Finished" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_bit_flip_of_a_handshake_message_fails(string groupName, string message)
    {
        KeyAgreementAlgorithm group = KeyAgreementAlgorithms.Get(groupName);
        int length = MessageLength(group, message);
        // Every bit for the small groups; for modp2048's 256-byte shares, every bit of every
        // 7th byte plus the first and last 64 bytes, to keep the test to seconds.
        IEnumerable<int> bytes = Enumerable.Range(0, length).Where(i => groupName != "modp2048" || i < 64 || i >= length - 64 || i % 7 == 0);
        int flips = 0;
        foreach (int index in bytes)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                Exception? failure = Record.Exception(() => HandshakeHarness.Run(
                    HandshakeHarness.ClientOptions(group),
                    HandshakeHarness.ServerOptions(group),
                    (name, body) =>
                    {
                        if (name == message)
                        {
                            body = (byte[])body.Clone();
                            body[index] ^= (byte)(1 << bit);
                        }
                        return body;
                    }));
                Assert.True(failure is ParleyProtocolException, $"flipping bit {bit} of byte {index} of {message}: {failure?.GetType().Name ?? "handshake completed"} {failure?.Message}");
                flips++;
            }
        }
        Assert.True(flips >= 8 * 32);
    }

    private static int MessageLength(KeyAgreementAlgorithm group, string message)
    {
        int length = 0;
        HandshakeHarness.Run(HandshakeHarness.ClientOptions(group), HandshakeHarness.ServerOptions(group), (name, body) =>
        {
            if (name == message)
            {
                length = body.Length;
            }
            return body;
        });
        return length;
    }
}
