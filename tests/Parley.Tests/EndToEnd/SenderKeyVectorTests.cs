using System.Text.RegularExpressions;
using Parley.EndToEnd.SenderKeys;
using Parley.Tests.Support;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>
/// The sender-key chain's vectors, printed in PROTOCOL.md §14.7 and checked here both ways: the code
/// computes every value, and the document must print exactly those values. The chain, HKDF, AES-GCM
/// and Ed25519 values were read back independently, once, with python3 (hmac, hashlib, cryptography 48),
/// by the script printed in §14.7.
/// </summary>
public partial class SenderKeyVectorTests
{
    private static readonly byte[] s_group = [.. Enumerable.Range(0, 16).Select(i => (byte)i)];

    internal static Dictionary<string, string> Compute()
    {
        Dictionary<string, string> values = [];
        using OwnSenderKey sender = OwnSenderKey.Generate(s_group, new SeededRandom("parley group vector alice"));
        using (SenderKeyDistribution distribution = sender.Distribution())
        {
            values["group_key_id"] = sender.KeyId.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            values["group_chain_key_0"] = Hex(distribution.ChainKey);
            values["group_signing_public_key"] = Hex(distribution.SigningPublicKey);
            values["group_distribution"] = Hex(distribution.Encode());
            byte[] chain = distribution.ChainKey.ToArray();
            for (int i = 0; i < 2; i++)
            {
                byte[] messageKey = new byte[32], next = new byte[32];
                SenderKeyKdf.ChainStep(chain, messageKey, next);
                values[$"group_message_key_{i}"] = Hex(messageKey);
                values[$"group_chain_key_{i + 1}"] = Hex(next);
                chain = next;
                if (i == 0)
                {
                    byte[] aeadKey = new byte[32], nonce = new byte[12];
                    SenderKeyKdf.MessageKeyMaterial(messageKey, aeadKey, nonce);
                    values["group_aead_key_0"] = Hex(aeadKey);
                    values["group_aead_nonce_0"] = Hex(nonce);
                }
            }
        }
        values["group_message_0"] = Hex(sender.Encrypt(Utf8("Hello, group")));
        values["group_message_1"] = Hex(sender.Encrypt(Utf8("")));
        // A device without this key asks for it (§14.3); the request's message id is bytes 0xf0…0xff.
        byte[] requestId = [.. Enumerable.Range(0xf0, 16).Select(i => (byte)i)];
        values["group_key_request"] = Hex(Parley.Client.EndToEnd.Groups.GroupPayloads.EncodeKeyRequest(
            s_group, sender.KeyId, Parley.Client.EndToEnd.E2eMessageId.Read(requestId)));
        return values;
    }

    [Fact]
    public void The_protocol_document_prints_what_the_code_computes()
    {
        string document = File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));
        int start = document.IndexOf("### 14.7", StringComparison.Ordinal);
        Assert.True(start >= 0, "PROTOCOL.md has no §14.7 (sender-key vectors)");
        Dictionary<string, string> printed = VectorLine().Matches(document[start..]).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(Compute(), printed);
    }

    [Fact]
    public void The_vector_messages_open_for_a_receiver()
    {
        using OwnSenderKey sender = OwnSenderKey.Generate(s_group, new SeededRandom("parley group vector alice"));
        using SenderKeyDistribution distribution = sender.Distribution();
        using ReceivedSenderKey receiver = ReceivedSenderKey.From(SenderKeyDistribution.Decode(Convert.FromHexString(Compute()["group_distribution"])));
        Assert.Equal(Utf8("Hello, group"), receiver.Decrypt(Convert.FromHexString(Compute()["group_message_0"])));
    }

    [GeneratedRegex(@"^(group_[a-z0-9_]+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex VectorLine();
}
