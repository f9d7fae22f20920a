using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Messaging;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// Numbers and names that PROTOCOL.md states in prose, checked against the code (the reference),
/// so that an independent implementation reading the document gets the values Parley uses.
/// </summary>
public partial class ProtocolDocumentTests
{
    private static readonly string Document = File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));

    [Fact]
    public void The_messenger_record_limit_is_stated_in_bytes_as_the_code_computes_it()
    {
        Match stated = StatedRecordLimit().Match(Document);
        Assert.True(stated.Success, "§11 must state the record limit for the default body in bytes");
        int bytes = int.Parse(stated.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.Equal(64 * 1024, MessengerLimits.DefaultMaxBodyLength);
        Assert.Equal(MessengerLimits.RecordLimitFor(MessengerLimits.DefaultMaxBodyLength), bytes);
        Assert.Equal(95_572, bytes);
    }

    [Fact]
    public void The_servers_order_of_preference_is_the_servers_default()
    {
        Match stated = StatedPreference().Match(Document);
        Assert.True(stated.Success, "§3 must state the server's order of preference");
        ServerOptions defaults = new();
        Assert.Equal(defaults.Groups.Select(g => g.Name), Names(stated.Groups[1].Value));
        Assert.Equal(defaults.Suites.Select(s => s.Name), Names(stated.Groups[2].Value));
        Assert.Equal(KeyAgreementAlgorithms.All.Select(g => g.Name), Names(stated.Groups[1].Value));
        Assert.Equal(AeadAlgorithms.All.Select(s => s.Name), Names(stated.Groups[2].Value));
    }

    [Fact]
    public void The_stated_vector_labels_reproduce_every_printed_input()
    {
        string intro = Section10Intro();
        foreach (string label in new[] { "client random", "server random", "client GROUP share", "server GROUP share", "server identity", "client identity" })
        {
            Assert.Contains($"`{label}`", intro);
        }
        int checkedVectors = 0;
        foreach ((string group, Dictionary<string, byte[]> values) in PrintedVectors())
        {
            Assert.Equal(Seed("client random"), values["client_random"]);
            Assert.Equal(Seed("server random"), values["server_random"]);
            Assert.Equal(Seed($"client {group} share")[..32], values["client_share_private"]);
            Assert.Equal(Seed($"server {group} share")[..32], values["server_share_private"]);
            Assert.Equal(Seed("server identity"), values["server_identity_seed"]);
            if (values.TryGetValue("client_identity_seed", out byte[]? clientSeed))
            {
                Assert.Equal(Seed("client identity"), clientSeed);
            }
            checkedVectors++;
        }
        Assert.Equal(6, checkedVectors);
    }

    [Fact]
    public void The_stated_hkdf_labels_derive_every_printed_value()
    {
        List<(string Name, string Source, string Label)> rows = HkdfRows().Matches(Section10Intro())
            .Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value))
            .ToList();
        Assert.Equal(["c2s_traffic_secret", "s2c_traffic_secret", "finished_key", "c2s_key", "c2s_iv"], rows.Select(r => r.Name));
        int checkedVectors = 0;
        foreach ((_, Dictionary<string, byte[]> values) in PrintedVectors())
        {
            Assert.Equal(values["PRK"], HKDF.Extract(HashAlgorithmName.SHA256, values["Z"], values["TH"]));
            foreach ((string name, string source, string label) in rows)
            {
                byte[] expected = values[name];
                byte[] derived = HKDF.Expand(HashAlgorithmName.SHA256, values[source], expected.Length, Encoding.ASCII.GetBytes(label));
                Assert.Equal(expected, derived);
            }
            Assert.Equal(values["verify_data"], HMACSHA256.HashData(values["finished_key"], values["TH"]));
            checkedVectors++;
        }
        Assert.Equal(6, checkedVectors);
    }

    [Fact]
    public void The_stated_keep_alive_timings_are_the_servers_defaults()
    {
        ServerOptions defaults = new();
        string text = Regex.Replace(Document, @"\s+", " ");
        Assert.Contains($"checks every connection every {(defaults.KeepAliveInterval / 2).TotalSeconds:0} s", text);
        Assert.Contains($"A connection silent for {defaults.KeepAliveInterval.TotalSeconds:0} s or more gets a `ping`", text);
        Assert.Contains($"A connection silent for {defaults.IdleTimeout.TotalSeconds:0} s or more is closed", text);
        Assert.Contains($"Handshake and login together within {defaults.LoginTimeout.TotalSeconds:0} s", text);
        Assert.Contains($"the handshake alone within {defaults.HandshakeTimeout.TotalSeconds:0} s", text);
    }

    [Fact]
    public void The_stated_message_limits_are_the_named_constants()
    {
        string text = Regex.Replace(Document, @"\s+", " ");
        Assert.Contains($"`messageIds` (1–{MessengerLimits.MaxAckIds})", text);
        Assert.Contains($"any non-empty string of at most {MessengerLimits.MaxContentTypeLength} UTF-16 code units", text);
        Assert.Contains($"one page (at most {MessengerLimits.ListPageSize} names)", text);
    }

    [Fact]
    public void The_stated_key_directory_limits_are_the_named_constants()
    {
        string text = Regex.Replace(Document, @"\s+", " ");
        Assert.Contains($"every key is opaque bytes (base64 in JSON), 1 to {MessengerLimits.MaxPublicKeyBytes:N0} bytes", text);
        Assert.Contains($"at most {MessengerLimits.MaxOneTimePrekeysPerPublish} one-time prekeys and {MessengerLimits.MaxOneTimeKemPrekeysPerPublish} one-time KEM prekeys", text);
        Assert.Contains($"a device holds at most {MessengerLimits.MaxOneTimePrekeysPerDevice} of each kind", text);
    }

    private static byte[] Seed(string label) => ProtocolVectorTests.Seed(label);

    private static IEnumerable<string> Names(string list) => NameInBackticks().Matches(list).Select(m => m.Groups[1].Value);

    private static string Section10Intro()
    {
        int start = Document.IndexOf("## 10. Test vectors", StringComparison.Ordinal);
        int end = Document.IndexOf("<!-- BEGIN GENERATED VECTORS -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start);
        return Document[start..end];
    }

    /// <summary>Each generated vector's group and its "name =" hex values.</summary>
    private static IEnumerable<(string Group, Dictionary<string, byte[]> Values)> PrintedVectors()
    {
        foreach (Match vector in VectorBlock().Matches(Document))
        {
            Dictionary<string, byte[]> values = [];
            foreach (Match field in VectorField().Matches(vector.Groups[2].Value))
            {
                values[field.Groups[1].Value] = Convert.FromHexString(Regex.Replace(field.Groups[2].Value, @"\s+", ""));
            }
            yield return (vector.Groups[1].Value, values);
        }
    }

    [GeneratedRegex(@"([\d,]+) bytes for the default 64 KiB body")]
    private static partial Regex StatedRecordLimit();

    [GeneratedRegex(@"The server's order of preference[^:]*: groups ((?:`[a-z0-9-]+`,?\s*)+); suites ((?:`[a-z0-9-]+`,?\s*)+)\.")]
    private static partial Regex StatedPreference();

    [GeneratedRegex(@"`([a-z0-9-]+)`")]
    private static partial Regex NameInBackticks();

    [GeneratedRegex(@"^\| `(\w+)` \|[^|]*\| HKDF-Expand\(`(\w+)`, `""([^""]+)""`", RegexOptions.Multiline)]
    private static partial Regex HkdfRows();

    [GeneratedRegex(@"^### ([a-z0-9]+), [^\n]*\n\n```\n(.*?)```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex VectorBlock();

    [GeneratedRegex(@"^(\w+) =\n((?: {4}[0-9a-f]+\n)+)", RegexOptions.Multiline)]
    private static partial Regex VectorField();
}
