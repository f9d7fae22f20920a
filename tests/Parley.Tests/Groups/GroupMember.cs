using System.Threading.Channels;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>
/// A logged-in device with its pairwise keys and its groups, as parley chat wires them: group rows go
/// to <see cref="E2eGroups.Receive"/> (events into <see cref="Events"/>), pairwise envelopes are opened
/// and sender keys stored. Every group row is also kept raw in <see cref="Rows"/>, for tests that play
/// someone holding a ciphertext they should not be able to read.
/// </summary>
internal sealed class GroupMember(ChatClient client, E2eDevice keys, E2eGroups groups, Channel<GroupEvent> events, Channel<ChatMessage> rows, string token)
    : IAsyncDisposable
{
    public ChatClient Client { get; } = client;
    public E2eDevice Keys { get; } = keys;
    public E2eGroups Groups { get; } = groups;
    public Channel<GroupEvent> Events { get; } = events;
    public Channel<ChatMessage> Rows { get; } = rows;
    public string Token { get; } = token;

    /// <summary>Pairwise payloads that are not the group layer's (texts, receipts), as opened.</summary>
    public Channel<E2eIncoming> Pairwise { get; } = Channel.CreateUnbounded<E2eIncoming>();

    /// <summary>Group payloads that came pairwise (sender keys, requests for ours), once the group layer has taken them.</summary>
    public Channel<E2eIncoming> GroupPayloads { get; } = Channel.CreateUnbounded<E2eIncoming>();

    /// <summary>The next pairwise group payload the group layer took.</summary>
    public async Task<E2eIncoming> NextGroupPayloadAsync() => await GroupPayloads.Reader.ReadAsync().AsTask().WithTimeout();

    /// <summary>Plays a client that ignores being removed: it keeps every key it was ever given.</summary>
    public bool IgnoresRemoval { get; set; }

    public async Task<GroupEvent> NextAsync() => await Events.Reader.ReadAsync().AsTask().WithTimeout();

    /// <summary>The next group message, skipping notices.</summary>
    public async Task<GroupEvent> NextMessageAsync()
    {
        while (true)
        {
            GroupEvent next = await NextAsync();
            if (next.Kind != GroupEventKind.Changed)
            {
                return next;
            }
        }
    }

    /// <summary>The next raw group message row (a ciphertext as the server stored it).</summary>
    public async Task<ChatMessage> NextRowAsync()
    {
        while (true)
        {
            ChatMessage row = await Rows.Reader.ReadAsync().AsTask().WithTimeout();
            if (row.ContentType == GroupContentTypes.Message)
            {
                return row;
            }
        }
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();

    /// <param name="before">The same device again (its keys, groups, token and channels).</param>
    /// <param name="restored">Keys and groups loaded from disk, replacing <paramref name="before"/>'s.</param>
    public static async Task<GroupMember> ConnectAsync(TestServer server, string user, GroupMember? before = null, (E2eDevice Keys, E2eGroups Groups)? restored = null)
    {
        E2eDevice keys = restored?.Keys ?? before?.Keys ?? E2eDevice.Create(user);
        E2eGroups groups = restored?.Groups ?? before?.Groups ?? new E2eGroups(keys);
        Channel<GroupEvent> events = before?.Events ?? Channel.CreateUnbounded<GroupEvent>();
        Channel<ChatMessage> rows = before?.Rows ?? Channel.CreateUnbounded<ChatMessage>();
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        // Rows can arrive while the login is still being answered (a device's unread backlog): they wait for the member.
        TaskCompletionSource<GroupMember> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageHandler = async message =>
        {
            GroupMember member = await ready.Task;
            if (GroupContentTypes.IsReserved(message.ContentType))
            {
                await rows.Writer.WriteAsync(message);
                if (member.IgnoresRemoval && message.ContentType == GroupContentTypes.Changed
                    && MessengerCodec.DecodeGroupChange(message.Body) is { Change: GroupChangeKinds.Removed or GroupChangeKinds.Left } change
                    && change.Subjects.Contains(user))
                {
                    return;
                }
                GroupEvent happened = groups.Receive(message, client.DeviceId);
                if (happened.Kind != GroupEventKind.None)
                {
                    await events.Writer.WriteAsync(happened);
                }
                return;
            }
            E2eIncoming opened = keys.Open(message);
            if (opened.GroupPayload is not null)
            {
                groups.TakeGroupPayload(opened);
                await member.GroupPayloads.Writer.WriteAsync(opened);
            }
            else
            {
                await member.Pairwise.Writer.WriteAsync(opened);
            }
        };
        string? token = before?.Token;
        LoginResult login = await client.LoginAsync(user, token is null ? "correct horse" : null, token).WithTimeout();
        Assert.True(login.Success, login.Error);
        // Before anything else is asked: the reader loop may be holding a row until the member exists.
        GroupMember ours = new(client, keys, groups, events, rows, token ?? login.DeviceToken!) { IgnoresRemoval = before?.IgnoresRemoval ?? false };
        ready.SetResult(ours);
        if (token is null)
        {
            await keys.PublishAsync(client).WithTimeout();
        }
        return ours;
    }
}
