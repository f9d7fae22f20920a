using System.Text.Json;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// The browser's compact form (web/js/compact.js, PROTOCOL.md §11.9), a second implementation
/// written from the spec: it reads and writes the document's vectors, read from the document
/// itself, refuses malformed records whole, and the messenger asks for it, uses it once agreed and
/// ends the connection on a record it cannot read without handling or acknowledging any of it.
/// </summary>
public class BrowserCompactTests
{
    [Fact]
    public async Task The_browser_reads_and_writes_the_compact_vectors_of_the_document_and_refuses_malformed_records()
    {
        List<Dictionary<string, object>> vectors = CompactVectorsForPage();
        Assert.All(vectors, v => Assert.NotEmpty((string[])v["json"]));
        Assert.True(vectors.Count >= 8, $"{vectors.Count} compact vectors in PROTOCOL.md");

        JsonElement result = await ServedPage.EvaluateAsync(CodecScript, new { vectors });

        Assert.Empty(Strings(result, "failures"));
        // Every vector was checked, in its direction: the server's read, the client's written.
        Assert.Equal(vectors.Select(v => (string)v["title"]), Strings(result, "checked"));
        Assert.Equal(5, Strings(result, "read").Count);
        Assert.Equal(3, Strings(result, "written").Count);
        Assert.True(result.GetProperty("refused").GetInt32() > 100, result.GetProperty("refused").ToString());
    }

    [Fact]
    public async Task The_browser_messenger_asks_for_the_compact_form_uses_it_once_agreed_and_ends_on_a_bad_record()
    {
        JsonElement result = await ServedPage.EvaluateAsync(MessengerScript, new { });
        Assert.Empty(Strings(result, "failures"));
    }

    private static List<string> Strings(JsonElement result, string name) =>
        [.. result.GetProperty(name).EnumerateArray().Select(e => e.GetString() ?? "")];

    // Objects are compared with their members sorted, so only names, values and value types count.
    private const string CodecScript = """
        async ({ vectors }) => {
          const c = await import('/js/compact.js');
          const b = await import('/js/bytes.js');
          const canon = v => Array.isArray(v) ? `[${v.map(canon).join(',')}]`
            : v && typeof v === 'object' ? `{${Object.keys(v).sort().map(k => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`
            : JSON.stringify(v);
          const out = { checked: [], read: [], written: [], failures: [], refused: 0 };
          const fail = what => out.failures.push(what);
          const messages = [];
          for (const v of vectors) {
            const expected = v.json.map(j => JSON.parse(j));
            const record = b.fromHex(v.compact.replace(/[\s|]/g, ''));
            if (!c.isCompact(record)) fail(`${v.title}: not seen as compact`);
            out.checked.push(v.title);
            if (expected.every(m => m.type === 'message' || m.type === 'send_result')) {
              let got;
              try { got = c.decodeServerRecord(record); } catch (e) { fail(`${v.title}: refused: ${e.message}`); continue; }
              if (canon(got) !== canon(expected)) fail(`${v.title}: read as ${JSON.stringify(got)}`);
              // The body is what the JSON path hands on: base64 text, not bytes.
              for (const m of got) if (m.type === 'message' && typeof m.body !== 'string') fail(`${v.title}: body is not base64 text`);
              out.read.push(v.title);
              const parts = v.compact.split('|').map(p => b.fromHex(p.replace(/\s/g, '')));
              parts.forEach((p, i) => messages.push({ title: `${v.title} #${i}`, bytes: p }));
            } else {
              const parts = expected.map(m => m.type === 'send'
                ? c.encodeSend({ ...m, body: b.fromBase64(m.body) })
                : m.type === 'ack' ? c.encodeAck(m.messageIds) : null);
              if (parts.some(p => p === null)) { fail(`${v.title}: has no compact form in the browser`); continue; }
              const got = b.hex(b.concat(...parts));
              if (got !== b.hex(record)) fail(`${v.title}: written as ${got}`);
              out.written.push(v.title);
            }
          }

          // ── malformed records: refused whole, naming where the bad message starts ──
          const refused = (title, record, offset, fault) => {
            try {
              c.decodeServerRecord(record);
              fail(`${title}: read`);
            } catch (e) {
              if (!(e instanceof b.MalformedError)) fail(`${title}: ${e.name} ${e.message}`);
              else if (!e.message.includes(`at byte ${offset} of the record`) || !e.message.includes(fault)) fail(`${title}: ${e.message}`);
              else out.refused++;
            }
          };
          // Every cut of every server message, alone and after a whole one.
          for (const m of messages) {
            for (let cut = 1; cut < m.bytes.length; cut++) {
              refused(`${m.title} cut at ${cut}`, m.bytes.subarray(0, cut), 0, 'runs past the end');
              refused(`${m.title} cut at ${cut} after a whole one`, b.concat(m.bytes, m.bytes.subarray(0, cut)), m.bytes.length, 'runs past the end');
            }
          }
          const h = b.fromHex;
          const result = '04 01 00 0000000000000007 000000000000002a 03 626f62';
          const resultLength = h(result).length; // where a second message starts
          const message = (flags, from, to) => `03 ${flags} 000000000000002a 0000019af232b200 ${from} 00 ${to} 00 0001 74 00000002 6869`;
          refused('invalid UTF-8 in to', h(result.replace('03 626f62', '03 626fff')), 0, 'to is not valid UTF-8');
          refused('an overlong encoding in from', h(message('00', '02 c0af', '03 626f62')), 0, 'from is not valid UTF-8');
          refused('a lone surrogate in to', h(message('00', '01 61', '03 eda080')), 0, 'to is not valid UTF-8');
          refused('invalid UTF-8 in the second message', h(result + message('00', '01 61', '02 c328')), resultLength, 'to is not valid UTF-8');
          refused('type 0x05', h('05'), 0, 'type 0x05');
          refused('a client send from the server', h('01 0000000000000001 03 626f62 00 0001 74 00000000'), 0, 'type 0x01');
          refused('a client ack from the server', h('02 0001 0000000000000001'), 0, 'type 0x02');
          refused('JSON after a compact message', b.concat(h(result), b.utf8('{"type":"pong"}')), resultLength, 'type 0x7b');
          refused('a zero after a compact message', b.concat(h(result), h('00')), resultLength, 'type 0x00');
          refused('message flags 0x02', h(message('02', '01 61', '01 62')), 0, 'flags 0x02');
          refused('message flags 0x80', h(message('80', '01 61', '01 62')), 0, 'flags 0x80');
          refused('send_result status 2', h(result.replace('04 01 00', '04 02 00')), 0, 'status 2');
          refused('send_result flags 0x02', h(result.replace('04 01 00', '04 01 02')), 0, 'flags 0x02');
          refused('an id of 2^53', h(result.replace('000000000000002a', '0020000000000000')), 0, 'messageId');
          refused('a ref below -(2^53 - 1)', h(result.replace('0000000000000007', 'ffe0000000000000')), 0, 'ref');
          refused('devices cut', h(result.replace('04 01 00', '04 01 01') + '02 01 61'), 0, 'runs past the end');
          const max = c.decodeServerRecord(h(result.replace('000000000000002a', '001fffffffffffff')))[0].messageId;
          if (max !== Number.MAX_SAFE_INTEGER) fail(`2^53 - 1 read as ${max}`);

          // What the compact form cannot say goes as JSON: the encoders say so with null.
          const send = { ref: 1, to: 'bob', contentType: 'text/plain', body: new Uint8Array(0) };
          if (c.encodeSend({ ...send, to: 'n'.repeat(256) }) !== null) fail('a 256-byte name was written');
          if (c.encodeSend({ ...send, toDevice: '' }) !== null) fail('an empty toDevice was written as absent');
          if (c.encodeSend({ ...send, to: 'bob\ud800' }) !== null) fail('a lone surrogate was written');
          if (c.encodeSend({ ...send, ref: 2 ** 53 }) !== null) fail('an unsafe ref was written');
          if (c.encodeSend({ ...send, contentType: 'c'.repeat(65536) }) !== null) fail('a 65536-byte content type was written');
          if (c.encodeAck([1, 2 ** 53]) !== null) fail('an unsafe id was acknowledged');
          if (c.encodeAck(new Array(65536).fill(1)) !== null) fail('65536 ids were written');
          if (b.hex(c.encodeSend({ ...send, to: 'n'.repeat(255) })).slice(18, 20) !== 'ff') fail('a 255-byte name was not written');
          return out;
        }
        """;

    // A stand-in channel: records what the messenger sends, hands it records as the server would.
    private const string MessengerScript = """
        async () => {
          const { Messenger } = await import('/js/messenger.js');
          const c = await import('/js/compact.js');
          const b = await import('/js/bytes.js');
          const failures = [];
          const check = (ok, what) => { if (!ok) failures.push(what); };
          const open = () => {
            const channel = { sent: [], closed: false, onRecord: () => {}, send: async r => { channel.sent.push(r); }, close: async () => { channel.closed = true; } };
            const m = new Messenger(channel);
            const seen = { handled: [], errors: [] };
            m.onMessage = async message => { seen.handled.push(message); };
            m.onError = e => seen.errors.push(e);
            return { channel, m, seen, record: bytes => channel.onRecord(bytes), json: o => channel.onRecord(b.utf8(JSON.stringify(o))) };
          };
          const loggedIn = async (answer) => {
            const s = open();
            const login = s.m.login('bob', { password: 'a long passphrase' });
            check(JSON.parse(b.fromUtf8(s.channel.sent[0])).compact === 1, 'login does not ask for compact 1');
            s.json({ type: 'login_result', success: true, user: 'bob', deviceId: 'a1b2c3d4e5f6', ...answer });
            await login;
            return s;
          };
          const message = (id, body) => ({ type: 'message', messageId: id, from: 'alice', to: 'bob', timestamp: 1765000000000 + id,
            contentType: 'text/plain; charset=utf-8', body: b.toBase64(body), broadcast: false, fromDevice: '0f0e0d0c0b0a' });
          // The compact bytes of a message, written here by hand from §11.9's table.
          const compactMessage = (id, body) => b.concat(Uint8Array.of(0x03, 0x00), b.u64(id), b.u64(1765000000000 + id),
            Uint8Array.of(5), b.utf8('alice'), Uint8Array.of(12), b.utf8('0f0e0d0c0b0a'), Uint8Array.of(3), b.utf8('bob'), Uint8Array.of(0),
            b.u16(25), b.utf8('text/plain; charset=utf-8'), b.u32(body.length), body);
          const compactResult = (ref, id) => b.concat(Uint8Array.of(0x04, 0x01, 0x00), b.u64(ref), b.u64(id), Uint8Array.of(3), b.utf8('bob'));

          // ── agreed: sends and acks go compact, compact records are handled in order like JSON ──
          {
            const s = await loggedIn({ compact: 1 });
            check(s.m.compact === 1, 'compact not agreed');
            const body = Uint8Array.of(0, 1, 2, 0xfe, 0xff);
            const sending = s.m.sendToDevice('bob', '5c1d0e9a7b42', 'application/vnd.parley.e2e', body);
            const sent = s.channel.sent.at(-1);
            check(b.hex(sent) === b.hex(c.encodeSend({ ref: 1, to: 'bob', toDevice: '5c1d0e9a7b42', contentType: 'application/vnd.parley.e2e', body })), `send written as ${b.hex(sent)}`);
            // A result and two messages in one record, then a JSON message: all four in order.
            s.record(b.concat(compactResult(1, 41), compactMessage(42, b.utf8('one')), compactMessage(43, new Uint8Array(0))));
            s.json(message(44, b.utf8('three')));
            const result = await sending;
            check(JSON.stringify(result) === JSON.stringify({ type: 'send_result', ref: 1, messageId: 41, to: 'bob', status: 'delivered' }), `result ${JSON.stringify(result)}`);
            await s.m.incoming;
            check(JSON.stringify(s.seen.handled) === JSON.stringify([message(42, b.utf8('one')), message(43, new Uint8Array(0)), message(44, b.utf8('three'))]),
              `handled ${JSON.stringify(s.seen.handled)}`);
            await s.m.flushAcks();
            check(b.hex(s.channel.sent.at(-1)) === b.hex(c.encodeAck([42, 43, 44])), `ack written as ${b.hex(s.channel.sent.at(-1))}`);
            check(b.hex(s.channel.sent.at(-1)) === '02' + '0003' + '000000000000002a' + '000000000000002b' + '000000000000002c', 'ack bytes');
            // A send the compact form cannot say goes as JSON, on the same connection.
            s.m.sendToDevice('bob', '', 'text/plain', body).catch(() => {});
            check(JSON.parse(b.fromUtf8(s.channel.sent.at(-1))).toDevice === '', 'an empty toDevice did not go as JSON');
            check(s.seen.errors.length === 0 && !s.channel.closed, `errors ${s.seen.errors.map(e => e.message)}`);

            // A malformed record: a good message, then a cut one. Nothing of it is handled or acknowledged; the connection ends.
            const whole = compactMessage(45, b.utf8('four'));
            s.record(b.concat(whole, whole.subarray(0, 20)));
            s.record(compactMessage(46, b.utf8('after')));
            await s.m.incoming;
            const sentBefore = s.channel.sent.length;
            await s.m.flushAcks();
            check(s.seen.handled.length === 3, `handled ${s.seen.handled.length} after a malformed record`);
            check(s.channel.sent.length === sentBefore, 'something was sent (acknowledged) after the malformed record');
            check(s.channel.closed, 'the connection did not end');
            check(s.seen.errors.length === 1 && s.seen.errors[0].code === 'bad_reply' && s.seen.errors[0].message.includes(`at byte ${whole.length} of the record`),
              `errors ${s.seen.errors.map(e => e.message)}`);
          }

          // ── not agreed (an older server): JSON as before, and a compact record is refused ──
          {
            const s = await loggedIn({});
            check(s.m.compact === 0, 'compact agreed without the answer');
            s.m.sendToDevice('bob', '5c1d0e9a7b42', 'text/plain', Uint8Array.of(1)).catch(() => {});
            const sent = JSON.parse(b.fromUtf8(s.channel.sent.at(-1)));
            check(sent.type === 'send' && sent.body === 'AQ==' && sent.ref === 1, `send as ${JSON.stringify(sent)}`);
            s.json(message(50, b.utf8('json')));
            await s.m.incoming;
            await s.m.flushAcks();
            check(JSON.stringify(JSON.parse(b.fromUtf8(s.channel.sent.at(-1)))) === '{"type":"ack","messageIds":[50]}', 'ack not JSON');
            s.record(compactMessage(51, b.utf8('compact')));
            await s.m.incoming;
            check(s.seen.handled.length === 1 && s.channel.closed && s.seen.errors.length === 1 && s.seen.errors[0].message.includes('not agreed'),
              `unagreed compact record: handled ${s.seen.handled.length}, closed ${s.channel.closed}, errors ${s.seen.errors.map(e => e.message)}`);
          }

          // ── a failed login agrees nothing, whatever it says ──
          {
            const s = await loggedIn({ success: false, code: 'invalid_credentials', compact: 1 });
            check(s.m.compact === 0, 'a failed login agreed compact');
          }

          // ── a version not asked for fails the login and ends the connection ──
          {
            const s = open();
            const login = s.m.login('bob', { password: 'a long passphrase' });
            s.json({ type: 'login_result', success: true, user: 'bob', deviceId: 'a1b2c3d4e5f6', compact: 2 });
            const result = await login;
            check(result.success === false && s.m.compact === 0 && s.channel.closed === true,
              `version 2 answered: success ${result.success}, compact ${s.m.compact}, closed ${s.channel.closed}`);
            check(s.seen.errors.some(e => String(e.message).includes('compact form version 2')), `errors ${s.seen.errors.map(e => e.message)}`);
          }

          // ── an ack stays within the record limit of a server of small bodies ──
          {
            const s = await loggedIn({ compact: 1, maxBodyLength: 1024 });
            for (let id = 1; id <= 1000; id++) s.m.acks.push(id);
            await s.m.flushAcks();
            const acks = s.channel.sent.slice(1);
            const limit = Math.floor(1024 / 3) * 4 + 8192;
            check(acks.length > 1 && acks.every(a => a.length <= limit), `acks of ${acks.map(a => a.length)} bytes, limit ${limit}`);
          }
          return { failures };
        }
        """;

    /// <summary>The document's compact vectors as the page's script takes them: title, the JSON lines, and the compact hex as written.</summary>
    private static List<Dictionary<string, object>> CompactVectorsForPage() =>
        [.. CompactVectors.All.Select(v => new Dictionary<string, object> { ["title"] = v.Title, ["json"] = v.Json, ["compact"] = v.CompactHex })];
}
