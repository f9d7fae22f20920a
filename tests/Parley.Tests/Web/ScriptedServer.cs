using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// A server the test writes, for the page to meet over its own WebSocket (Playwright routes /ws here
/// instead of to the real server, which only serves the page's files). The channel is the real
/// server's sans-IO handshake and records; the messenger above it is the test's: each JSON request
/// of the page goes to <c>answer</c>, which may reply with anything, as a hostile server would.
/// </summary>
internal sealed class ScriptedServer
{
    private readonly IWebSocketRoute _route;
    private readonly Func<JsonObject, ScriptedServer, IEnumerable<JsonObject>> _answer;
    private readonly ServerHandshake _handshake = new(HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Aes256Gcm));
    private SecureSession? _session;

    private ScriptedServer(IWebSocketRoute route, Func<JsonObject, ScriptedServer, IEnumerable<JsonObject>> answer)
    {
        _route = route;
        _answer = answer;
    }

    /// <summary>Every request the page sent, in order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    /// <summary>Completes when the page closes the WebSocket (or the channel fails).</summary>
    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Routes the page's channel to a new scripted server each time it connects; the last one is kept in <c>current</c>.</summary>
    public static Task RouteAsync(IPage page, Func<JsonObject, ScriptedServer, IEnumerable<JsonObject>> answer, Action<ScriptedServer> connected) =>
        page.RouteWebSocketAsync("**/ws", route =>
        {
            ScriptedServer server = new(route, answer);
            connected(server);
            route.OnMessage(frame => server.Receive(frame.Binary!));
            route.OnClose((_, _) => server.Closed.TrySetResult());
        });

    /// <summary>One JSON object, sealed in a record of its own.</summary>
    public void Send(JsonObject message) => SendRaw(Seal(message));

    /// <summary>Bytes as one WebSocket message, whatever they hold.</summary>
    public void SendRaw(byte[] message) => _route.Send(message);

    /// <summary>
    /// KeyUpdate records, each as one WebSocket message, sealed by hand (our SecureSession never
    /// sends two in a row). The session is left behind them: nothing more can be sent after.
    /// </summary>
    public void SendKeyUpdates(int count)
    {
        HandSealedRecords records = new(_session!.ExportSecretsForTesting().Send, _session.SendSequence);
        for (int i = 0; i < count; i++)
        {
            SendRaw(records.Seal(MessageType.KeyUpdate, []));
        }
    }

    /// <summary>A record's frame for this JSON object (the next sequence number is taken).</summary>
    public byte[] Seal(JsonObject message) => _session!.Seal(MessageType.ApplicationData, Encoding.UTF8.GetBytes(message.ToJsonString()));

    private void Receive(byte[] frame)
    {
        try
        {
            ReadOnlySpan<byte> body = frame.AsSpan(Frame.HeaderSize);
            if (_session is null)
            {
                ServerHandshakeStep step = _handshake.ReadMessage(body);
                if (step.Send is not null)
                {
                    _route.Send(step.Send);
                }
                _session = step.Session;
                return;
            }
            (MessageType type, byte[] payload) = _session.Open(body);
            if (type != MessageType.ApplicationData)
            {
                return;
            }
            JsonObject request = JsonNode.Parse(payload)!.AsObject();
            Requests.Enqueue(request);
            foreach (JsonObject reply in _answer(request, this))
            {
                Send(reply);
            }
        }
        catch (Exception e) when (e is Parley.Protocol.ParleyProtocolException or System.Text.Json.JsonException)
        {
            Closed.TrySetResult();
        }
    }

    /// <summary>
    /// What an honest server answers to what a page asks at login and after it (keys, groups,
    /// presence, acks), given the login result to send: the test changes only what it plays with.
    /// </summary>
    public static IEnumerable<JsonObject> Honest(JsonObject request, JsonObject loginResult)
    {
        JsonNode? reference = request["ref"]?.DeepClone();
        switch ((string?)request["type"])
        {
            case "login":
                yield return loginResult;
                break;
            case "publish_keys":
                yield return new JsonObject { ["type"] = "keys_published", ["ref"] = reference, ["oneTimePrekeys"] = 20, ["oneTimeKemPrekeys"] = 5 };
                break;
            case "group_list":
                yield return new JsonObject { ["type"] = "group_list_result", ["ref"] = reference, ["groups"] = new JsonArray(), ["invitations"] = new JsonArray() };
                break;
            case "watch_presence":
                yield return new JsonObject { ["type"] = "presence_watched", ["ref"] = reference, ["online"] = new JsonArray() };
                break;
            case "ack":
            case "pong":
                break;
            default:
                if (reference is not null)
                {
                    yield return new JsonObject { ["type"] = "error", ["ref"] = reference, ["code"] = "bad_request", ["message"] = "not played by this test" };
                }
                break;
        }
    }

    /// <summary>A successful login_result for <paramref name="user"/> (JSON only: no compact form agreed).</summary>
    public static JsonObject LoginResult(string user) => new()
    {
        ["type"] = "login_result", ["success"] = true, ["user"] = user, ["deviceToken"] = "token-" + user, ["accountId"] = 7,
        ["deviceId"] = "dev1", ["registered"] = true, ["maxBodyLength"] = 65536,
    };
}
