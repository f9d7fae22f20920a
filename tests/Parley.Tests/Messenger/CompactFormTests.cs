using System.Text;
using Parley.Messaging;
using Parley.Messaging.Compact;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// The compact form's codec (PROTOCOL.md §11.9): the document's vectors both ways, round trips of
/// random messages against their JSON meaning, and every way a record can be malformed.
/// </summary>
public class CompactFormTests
{
    public static IEnumerable<object[]> DocumentVectors() => CompactVectors.All.Select(v => new object[] { v.Title });

    [Theory]
    [MemberData(nameof(DocumentVectors))]
    public void Each_vector_reads_as_its_json_and_the_json_writes_as_its_bytes(string title)
    {
        CompactVectors.Vector vector = CompactVectors.All.Single(v => v.Title == title);
        (string[] json, byte[] compact) = (vector.Json, vector.Compact);
        bool fromServer = json[0].Contains("\"type\":\"message\"", StringComparison.Ordinal) || json[0].Contains("\"type\":\"send_result\"", StringComparison.Ordinal);

        // The compact bytes read as the JSON objects' meaning, in order.
        List<string> read = [];
        CompactReader reader = new(compact);
        while (!reader.AtEnd)
        {
            read.Add(Encoding.UTF8.GetString(fromServer ? MessengerCodec.Encode(reader.ReadServer()) : MessengerCodec.Encode(reader.ReadClient())));
        }
        Assert.Equal(json, read);

        // And the JSON objects, written compactly one after another, are the compact bytes.
        List<byte> written = [];
        foreach (string line in json)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(line);
            written.AddRange(fromServer ? CompactWriter.ToArray(MessengerCodec.DecodeServer(bytes))! : CompactWriter.ToArray(MessengerCodec.DecodeClient(bytes))!);
        }
        Assert.Equal(Convert.ToHexString(compact), Convert.ToHexString([.. written]));
    }

    [Fact]
    public void The_document_has_a_vector_of_each_message_and_one_of_several_in_a_record()
    {
        IReadOnlyList<CompactVectors.Vector> vectors = CompactVectors.All;
        Assert.True(vectors.Count >= 8, $"{vectors.Count} vectors");
        string all = string.Join('\n', vectors.SelectMany(v => v.Json));
        foreach (string type in new[] { "send", "ack", "message", "send_result" })
        {
            Assert.Contains($"\"type\":\"{type}\"", all);
        }
        Assert.Contains(vectors, v => v.Json.Length > 1);
        Assert.All(vectors, v => Assert.True(CompactForm.IsCompact(v.Compact)));
        // Every JSON text starts with '{' or white space, never with a compact type byte.
        Assert.All(vectors.SelectMany(v => v.Json), json => Assert.False(CompactForm.IsCompact(Encoding.UTF8.GetBytes(json))));
        Assert.All(new[] { " {}", "\t{}", "\n{}", "\r{}" }, json => Assert.False(CompactForm.IsCompact(Encoding.UTF8.GetBytes(json))));
    }

    public static IEnumerable<object[]> Seeds() => Enumerable.Range(1, 8).Select(i => new object[] { i });

    private static readonly string[] s_names = ["bob", "alice-2", "x", "héllo", "日本語", "emoji 🦜", "tab\tnew\nline", new string('n', 255)];
    private static readonly string[] s_types = ["text/plain; charset=utf-8", "application/vnd.parley.e2e", "t", "ünïcode/type", new string('c', 128)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_messages_go_through_the_compact_form_unchanged_and_several_share_a_record(int seed)
    {
        Random random = new(seed);
        for (int round = 0; round < 100; round++)
        {
            ClientMessage[] requests = [.. Enumerable.Range(0, random.Next(1, 6)).Select(_ => RandomRequest(random))];
            ServerMessage[] replies = [.. Enumerable.Range(0, random.Next(1, 6)).Select(_ => RandomReply(random))];

            byte[] clientRecord = Pack(requests.Select(r => (CompactWriter.SizeOf(r), (Func<byte[], int, int>)((b, at) => CompactWriter.Write(r, b.AsSpan(at))))));
            CompactReader clientReader = new(clientRecord);
            foreach (ClientMessage expected in requests)
            {
                Assert.Equal(Json(expected), Json(clientReader.ReadClient()));
            }
            Assert.True(clientReader.AtEnd);

            byte[] serverRecord = Pack(replies.Select(r => (CompactWriter.SizeOf(r), (Func<byte[], int, int>)((b, at) => CompactWriter.Write(r, b.AsSpan(at))))));
            CompactReader serverReader = new(serverRecord);
            foreach (ServerMessage expected in replies)
            {
                Assert.Equal(Json(expected), Json(serverReader.ReadServer()));
            }
            Assert.True(serverReader.AtEnd);
        }
    }

    [Fact]
    public void Compact_messages_are_smaller_than_their_json()
    {
        ChatMessage chat = new(123456, "bench-12", "bench-34", 1765000000000, "application/x-parley-bench", new byte[256], false, null, "a1b2c3d4e5f6");
        Assert.Equal(540, MessengerCodec.Encode(chat).Length);
        Assert.Equal(338, CompactWriter.SizeOf(chat));
        Random random = new(5);
        for (int i = 0; i < 500; i++)
        {
            ServerMessage reply = RandomReply(random);
            Assert.True(CompactWriter.SizeOf(reply) < MessengerCodec.Encode(reply).Length);
            // A send; not an ack, whose ids cost 8 bytes each here, more than JSON's for small ones.
            ClientMessage request = RandomRequest(random);
            if (request is SendRequest)
            {
                Assert.True(CompactWriter.SizeOf(request) < MessengerCodec.Encode(request).Length);
            }
        }
        AckRequest smallIds = new([.. Enumerable.Range(1, 1500).Select(i => (long)i)]);
        Assert.True(CompactWriter.SizeOf(smallIds) > MessengerCodec.Encode(smallIds).Length);
    }

    [Theory]
    [InlineData(MessengerLimits.DefaultMaxBodyLength)]
    [InlineData(1024)]
    [InlineData(1)]
    [InlineData(18 * 1024)]
    [InlineData(1 << 20)]
    public void An_ack_of_as_many_ids_as_a_client_sends_fits_the_record_limit_in_either_form(int maxBody)
    {
        int ids = MessengerLimits.AckIdsPerRecord(maxBody);
        int limit = MessengerLimits.RecordLimitFor(maxBody);
        foreach (long id in new[] { 1L, 999_999L, long.MaxValue, long.MinValue })
        {
            AckRequest ack = new(Enumerable.Repeat(id, ids).ToArray());
            Assert.InRange(MessengerCodec.Encode(ack).Length, 1, limit);
            Assert.InRange(CompactWriter.SizeOf(ack), 1, limit);
        }
        Assert.Equal(maxBody >= MessengerLimits.DefaultMaxBodyLength ? MessengerLimits.MaxAckIds : (limit - 64) / 21, ids);
    }

    [Fact]
    public void What_the_compact_form_cannot_say_has_no_compact_form()
    {
        Assert.Equal(-1, CompactWriter.SizeOf(new SendResult(1, 2, "bob", "lost")));
        Assert.Equal(-1, CompactWriter.SizeOf(new SendRequest(1, new string('n', 256), "t", [])));
        Assert.Equal(-1, CompactWriter.SizeOf(new SendRequest(1, "bob", "t", [], ToDevice: "")));
        Assert.Equal(-1, CompactWriter.SizeOf(new ChatMessage(1, "a", "b", 0, "t", [], false, FromDevice: "")));
        Assert.Equal(-1, CompactWriter.SizeOf(new SendRequest(1, "bob\ud800", "t", [])));
        Assert.Equal(-1, CompactWriter.SizeOf(new SendResult(1, 2, "bob", DeliveryStatus.Queued, [.. Enumerable.Repeat("d", 256)])));
        Assert.Equal(-1, CompactWriter.SizeOf(new AckRequest(new long[65536])));
        Assert.Equal(-1, CompactWriter.SizeOf(new ListRequest(1)));
        Assert.Equal(-1, CompactWriter.SizeOf(new ServerPong()));
        Assert.Null(CompactWriter.ToArray(new ListRequest(1)));
    }

    [Fact]
    public void Every_cut_of_a_message_is_refused_naming_where_the_message_starts()
    {
        byte[] first = CompactWriter.ToArray(new SendRequest(1, "bob", "text/plain", [1, 2, 3], "5c1d0e9a7b42"))!;
        byte[] second = CompactWriter.ToArray(new ChatMessage(9, "alice", "bob", 5, "text/plain", [4, 5], true, "5c1d0e9a7b42", "0f0e0d0c0b0a"))!;
        byte[] third = CompactWriter.ToArray(new SendResult(1, 9, "bob", DeliveryStatus.Queued, ["5c1d0e9a7b42"]))!;
        byte[] ack = CompactWriter.ToArray(new AckRequest([1, 2, 3]))!;
        foreach ((byte[] message, bool server) in new[] { (first, false), (second, true), (third, true), (ack, false) })
        {
            for (int cut = 1; cut < message.Length; cut++)
            {
                // A whole message before the cut one reads; the cut one fails at its own offset.
                byte[] record = [.. message, .. message.AsSpan(0, cut)];
                MessengerProtocolException e = ReadAllFails(record, server, expectedGood: 1);
                Assert.Contains($"at byte {message.Length} of the record", e.Message);
                Assert.Contains("runs past the end", e.Message);
            }
        }
    }

    [Theory]
    [InlineData("05", "type 0x05 is not a compact client message")]
    [InlineData("03", "type 0x03 is not a compact client message")] // a server message from a client
    [InlineData("01 0000000000000001 03 626fff 00 0001 74 00000000", "to is not valid UTF-8")]
    [InlineData("01 0000000000000001 03 626f62 02 c328 0001 74 00000000", "toDevice is not valid UTF-8")]
    [InlineData("01 0000000000000001 03 626f62 00 0002 74c3 00000000", "contentType is not valid UTF-8")]
    [InlineData("01 0000000000000001 03 626f62 00 0001 74 ffffffff", "body runs past the end")]
    [InlineData("02 0002 0000000000000001", "messageIds runs past the end")]
    public void Malformed_client_messages_are_refused_with_the_fault(string hex, string fault)
    {
        byte[] record = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        MessengerProtocolException e = ReadAllFails(record, server: false, expectedGood: 0);
        Assert.Contains(fault, e.Message);
        Assert.Contains("at byte 0 of the record", e.Message);
    }

    [Theory]
    [InlineData("03 02 0000000000000001 0000000000000001 01 61 00 01 62 00 0001 74 00000000", "message flags 0x02 are not defined")]
    [InlineData("04 02 00 0000000000000001 0000000000000001 01 62", "send_result status 2 is not defined")]
    [InlineData("04 00 02 0000000000000001 0000000000000001 01 62", "send_result flags 0x02 are not defined")]
    [InlineData("01", "type 0x01 is not a compact server message")]
    public void Malformed_server_messages_are_refused_with_the_fault(string hex, string fault)
    {
        byte[] record = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        Assert.Contains(fault, ReadAllFails(record, server: true, expectedGood: 0).Message);
    }

    [Fact]
    public void Random_bytes_are_either_read_or_refused_with_a_protocol_error()
    {
        Random random = new(77);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] record = new byte[random.Next(1, 80)];
            random.NextBytes(record);
            record[0] = (byte)random.Next(1, 5);
            foreach (bool server in new[] { false, true })
            {
                try
                {
                    CompactReader reader = new(record);
                    while (!reader.AtEnd)
                    {
                        _ = server ? reader.ReadServer() : (object)reader.ReadClient();
                    }
                }
                catch (MessengerProtocolException e)
                {
                    // The fault is named; the record's bytes are never quoted.
                    Assert.StartsWith("not a valid compact message at byte ", e.Message);
                }
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(MessengerLimits.MaxAckIds + 1)]
    public void An_ack_of_no_ids_or_too_many_is_malformed_and_has_no_compact_form(int count)
    {
        byte[] record = new byte[3 + 8 * count];
        record[0] = CompactForm.AckType;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1), (ushort)count);
        Assert.Contains($"an ack names 1 to {MessengerLimits.MaxAckIds} message ids, not {count}", ReadAllFails(record, server: false, expectedGood: 0).Message);
        Assert.Equal(-1, CompactWriter.SizeOf(new AckRequest(new long[count])));
        Assert.Equal(3 + 8 * MessengerLimits.MaxAckIds, CompactWriter.SizeOf(new AckRequest(new long[MessengerLimits.MaxAckIds])));
    }

    [Fact]
    public void A_reader_started_where_another_stopped_reads_on_and_names_offsets_from_the_record_start()
    {
        byte[] first = CompactWriter.ToArray(new SendRequest(1, "bob", "text/plain", [1]))!;
        byte[] second = CompactWriter.ToArray(new AckRequest([5, 6]))!;
        byte[] record = [.. first, .. second, CompactForm.SendType, 0];
        CompactReader reader = new(record);
        Assert.Equal(1, ((SendRequest)reader.ReadClient()).Ref);
        Assert.Equal(first.Length, reader.Offset);

        CompactReader resumed = new(record, reader.Offset);
        Assert.Equal([5L, 6L], ((AckRequest)resumed.ReadClient()).MessageIds);
        Assert.Equal(first.Length + second.Length, resumed.Offset);
        int lastOffset = resumed.Offset;
        MessengerProtocolException e = Assert.Throws<MessengerProtocolException>(() => new CompactReader(record, lastOffset).ReadClient());
        Assert.Contains($"at byte {first.Length + second.Length} of the record", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompactReader(record, record.Length + 1));
    }

    [Fact]
    public void A_content_type_too_long_for_a_message_is_read_but_never_remembered()
    {
        string longest = new('c', MessengerLimits.MaxContentTypeLength);
        string tooLong = new('c', 60_000);
        CompactReader reader = new(CompactWriter.ToArray(new SendRequest(1, "bob", longest, []))!);
        _ = reader.ReadClient();
        Assert.Equal(longest, reader.LastContentType);
        CompactReader second = new(CompactWriter.ToArray(new SendRequest(2, "bob", tooLong, []))!) { LastContentType = "text/plain" };
        Assert.Equal(tooLong, ((SendRequest)second.ReadClient()).ContentType);
        Assert.Equal("text/plain", second.LastContentType);
    }

    [Fact]
    public void A_run_of_one_content_type_shares_one_string()
    {
        byte[] record = [.. CompactWriter.ToArray(new SendRequest(1, "bob", "text/plain", []))!, .. CompactWriter.ToArray(new SendRequest(2, "eve", "text/plain", []))!];
        CompactReader reader = new(record);
        SendRequest a = (SendRequest)reader.ReadClient();
        SendRequest b = (SendRequest)reader.ReadClient();
        Assert.Same(a.ContentType, b.ContentType);
    }

    [Fact]
    public void Agreement_is_version_1_for_any_client_that_speaks_it_and_none_otherwise()
    {
        Assert.Equal(1, CompactForm.Agree(1));
        Assert.Equal(1, CompactForm.Agree(7));
        Assert.Null(CompactForm.Agree(0));
        Assert.Null(CompactForm.Agree(-1));
        Assert.Null(CompactForm.Agree(null));
    }

    // ── helpers ──

    private static MessengerProtocolException ReadAllFails(byte[] record, bool server, int expectedGood)
    {
        int good = 0;
        MessengerProtocolException? fault = null;
        try
        {
            CompactReader reader = new(record);
            while (!reader.AtEnd)
            {
                _ = server ? reader.ReadServer() : (object)reader.ReadClient();
                good++;
            }
        }
        catch (MessengerProtocolException e)
        {
            fault = e;
        }
        Assert.NotNull(fault);
        Assert.Equal(expectedGood, good);
        return fault;
    }

    private static byte[] Pack(IEnumerable<(int Size, Func<byte[], int, int> Write)> parts)
    {
        var list = parts.ToList();
        Assert.All(list, p => Assert.True(p.Size > 0));
        byte[] record = new byte[list.Sum(p => p.Size)];
        int at = 0;
        foreach ((int size, Func<byte[], int, int> write) in list)
        {
            Assert.Equal(size, write(record, at));
            at += size;
        }
        return record;
    }

    private static string Json(ClientMessage m) => Encoding.UTF8.GetString(MessengerCodec.EncodeGeneral(m));

    private static string Json(ServerMessage m) => Encoding.UTF8.GetString(MessengerCodec.EncodeGeneral(m));

    private static ClientMessage RandomRequest(Random random) => random.Next(3) == 0
        ? new AckRequest([.. Enumerable.Range(0, random.Next(1, 30)).Select(_ => random.NextInt64(long.MinValue, long.MaxValue))])
        : new SendRequest(random.NextInt64(long.MinValue, long.MaxValue), Pick(random, s_names), Pick(random, s_types), Body(random),
            random.Next(2) == 0 ? null : Pick(random, s_names));

    private static ServerMessage RandomReply(Random random) => random.Next(2) == 0
        ? new ChatMessage(random.NextInt64(), Pick(random, s_names), Pick(random, s_names), random.NextInt64(), Pick(random, s_types), Body(random),
            random.Next(2) == 0, random.Next(2) == 0 ? null : Pick(random, s_names), random.Next(2) == 0 ? null : Pick(random, s_names))
        : new SendResult(random.NextInt64(long.MinValue, long.MaxValue), random.NextInt64(), Pick(random, s_names),
            random.Next(2) == 0 ? DeliveryStatus.Queued : DeliveryStatus.Delivered,
            random.Next(2) == 0 ? null : [.. Enumerable.Range(0, random.Next(0, 5)).Select(_ => Pick(random, s_names))]);

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    private static byte[] Body(Random random)
    {
        byte[] body = new byte[random.Next(3) == 0 ? 0 : random.Next(1, 700)];
        random.NextBytes(body);
        return body;
    }
}
