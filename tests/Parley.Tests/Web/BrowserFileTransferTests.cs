using System.Text.Json;

namespace Parley.Tests.Web;

/// <summary>
/// The page's file transfers (web/js/file-transfer.js, web/js/file-view.js) against a server played
/// in the page itself, for what a real one does rarely or never: an answer about an upload that
/// does not fit it, an offer whose sending is cut off after the upload, a server that stops
/// answering while connected.
/// </summary>
public class BrowserFileTransferTests
{
    private const string FakeServer = """
        // A server that keeps the chunks it is sent in order and answers as §11.8 says, unless told otherwise.
        const fake = (overrides = {}) => {
          const s = { held: [], ended: false, ends: 0, count: 0, fileId: 'ab'.repeat(16) };
          s.messenger = {
            maxBodyLength: 65536,
            async fileUploadBegin(to, size, chunkSize) { s.count = Math.max(1, Math.ceil(size / chunkSize)); return { fileId: s.fileId, received: 0, chunkCount: s.count, complete: false }; },
            async fileUploadState() { return overrides.state?.(s) ?? { fileId: s.fileId, received: s.held.length, chunkCount: s.count, complete: s.ended }; },
            openUpload() { return { check() {}, async send(i, body) { if (i === s.held.length) s.held.push(body); }, close() {} }; },
            async fileUploadEnd() { s.ends++; if (overrides.end) await overrides.end(s); s.ended = true; return { fileId: s.fileId, devices: 1 }; },
          };
          return s;
        };
        const file = (n, name = 'notes.bin') => new File([Uint8Array.from({ length: n }, (_, i) => i % 251)], name);
        const code = async f => { try { await f(); return 'accepted'; } catch (e) { return e.code ?? e.message; } };
        """;

    /// <summary>
    /// A server whose word on an upload does not fit it (a count as a string, past the end, another
    /// file, another chunk count) steers nothing: with a string count the last chunk would have been
    /// sealed a second time, under the same nonce, as not last.
    /// </summary>
    [Fact]
    public async Task An_answer_about_an_upload_that_does_not_fit_it_is_refused_before_any_chunk_is_sealed()
    {
        JsonElement result = await ServedPage.EvaluateAsync($$"""
            async () => {
              const { Upload } = await import('/js/file-transfer.js');
              {{FakeServer}}
              const out = {};
              for (const [name, state] of Object.entries({
                string_count: s => ({ fileId: s.fileId, received: '2', chunkCount: s.count, complete: false }),
                past_the_end: s => ({ fileId: s.fileId, received: s.count + 1, chunkCount: s.count, complete: false }),
                another_file: s => ({ fileId: 'cd'.repeat(16), received: 1, chunkCount: s.count, complete: false }),
                another_count: s => ({ fileId: s.fileId, received: 1, chunkCount: s.count + 1, complete: false }),
                no_state: s => ({ fileId: s.fileId, received: 1, chunkCount: s.count }),
              })) {
                const upload = new Upload(file(2500), ['bob'], 1024);
                const honest = fake();
                await upload.run(honest.messenger);
                // The same upload resumed (as after a lost connection) against a server answering so:
                const hostile = fake({ state });
                hostile.count = honest.count;
                out[name] = await code(() => upload.run(hostile.messenger));
                out[name + '_sealed'] = String(hostile.held.length);
              }
              return out;
            }
            """);
        foreach (string name in new[] { "string_count", "past_the_end", "another_file", "another_count", "no_state" })
        {
            Assert.Equal("MalformedData", result.GetProperty(name).GetString());
            Assert.Equal("0", result.GetProperty(name + "_sealed").GetString());
        }
    }

    /// <summary>
    /// The connection is lost after the upload, while the offer goes out: after reconnecting the very
    /// same offer goes (its key whole, not the wiped one), and the upload is not made again.
    /// </summary>
    [Fact]
    public async Task An_offer_cut_off_after_the_upload_is_sent_again_with_its_key()
    {
        JsonElement result = await ServedPage.EvaluateAsync($$"""
            async () => {
              const { FileView } = await import('/js/file-view.js');
              const b = await import('/js/bytes.js');
              {{FakeServer}}
              const server = fake();
              const sent = [];
              const conversation = { name: 'bob', messages: [] };
              const app = {
                user: 'me', connected: true, messenger: server.messenger, contacts: new Map([['bob', conversation]]),
                device: { async sendPayload(m, to, payload) {
                  sent.push(payload.slice());
                  if (sent.length === 1) throw Object.assign(new Error('the connection was lost'), { code: 'connection_lost' });
                  return { devices: 1, delivered: true };
                } },
              };
              const view = new FileView({ app, groups: {}, sanitize: t => String(t), contact: () => conversation, addMessage: (c, e) => c.messages.push(e), isGroupConversation: n => n.startsWith('#'),
                save: async () => {}, render: () => {}, conversationOf: () => 'bob' });
              await view.send('bob', file(3000));
              const afterFirst = { note: conversation.messages[0].note, waiting: view.waiting.length };
              await view.resume();
              // u8 kind, 16-byte id, then the offer: version, file id (16), size (8), chunk size (4), key (32).
              const key = p => b.hex(p.subarray(1 + 16 + 1 + 16 + 8 + 4, 1 + 16 + 1 + 16 + 8 + 4 + 32));
              return {
                afterFirst: `${afterFirst.note} / ${afterFirst.waiting} waiting`,
                offers: String(sent.length), sameOffer: String(b.equal(sent[0], sent[1])), keyWiped: String(b.isAllZero(b.fromHex(key(sent[1])))),
                ends: String(server.ends), waiting: String(view.waiting.length), text: conversation.messages[0].text, status: conversation.messages[0].status,
              };
            }
            """);
        Assert.Equal("connection lost: the upload goes on after reconnecting / 1 waiting", result.GetProperty("afterFirst").GetString());
        Assert.Equal("2", result.GetProperty("offers").GetString());
        Assert.Equal("true", result.GetProperty("sameOffer").GetString());
        Assert.Equal("false", result.GetProperty("keyWiped").GetString());
        Assert.Equal("1", result.GetProperty("ends").GetString());
        Assert.Equal("0", result.GetProperty("waiting").GetString());
        Assert.Equal("Sent notes.bin (2.9 KiB), encrypted end to end", result.GetProperty("text").GetString());
        Assert.Equal("sent", result.GetProperty("status").GetString());
    }

    /// <summary>A server that stops answering while connected costs two more tries, then the file is said not sent; the queue moves on.</summary>
    [Fact]
    public async Task An_upload_the_server_keeps_timing_out_fails_after_two_more_tries_and_the_next_one_goes()
    {
        JsonElement result = await ServedPage.EvaluateAsync($$"""
            async () => {
              const { FileView } = await import('/js/file-view.js');
              {{FakeServer}}
              let stalls = 3;
              const server = fake({ end: async () => { if (stalls-- > 0) throw Object.assign(new Error('no reply to file_upload_end in time'), { code: 'timeout' }); } });
              const conversation = { name: 'bob', messages: [] };
              const app = { user: 'me', connected: true, messenger: server.messenger, contacts: new Map([['bob', conversation]]),
                device: { async sendPayload() { return { devices: 1, delivered: true }; } } };
              const view = new FileView({ app, groups: {}, sanitize: t => String(t), contact: () => conversation, addMessage: (c, e) => c.messages.push(e), isGroupConversation: n => n.startsWith('#'),
                save: async () => {}, render: () => {}, conversationOf: () => 'bob' });
              await view.send('bob', file(1500, 'first.bin'));
              await view.send('bob', file(1500, 'second.bin'));
              return {
                first: `${conversation.messages[0].status}: ${conversation.messages[0].note}`,
                second: `${conversation.messages[1].status}: ${conversation.messages[1].text}`,
                ends: String(server.ends), waiting: String(view.waiting.length),
              };
            }
            """);
        Assert.Equal("failed: not sent: no reply to file_upload_end in time", result.GetProperty("first").GetString());
        Assert.Equal("sent: Sent second.bin (1.5 KiB), encrypted end to end", result.GetProperty("second").GetString());
        Assert.Equal("4", result.GetProperty("ends").GetString()); // three for the first (each timed out), one for the second
        Assert.Equal("0", result.GetProperty("waiting").GetString());
    }
}
