using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>What the server-level group tests wait for: a refusal, and the next membership notice in an inbox.</summary>
internal static class GroupRequests
{
    public static async Task<ChatException> RefusedAsync(Func<Task> request) =>
        await Assert.ThrowsAsync<ChatException>(async () => await request().WithTimeout());

    public static async Task<GroupChange> NextChangeAsync(Channel<ChatMessage> inbox)
    {
        ChatMessage message = await inbox.NextAsync();
        Assert.Equal(GroupContentTypes.Changed, message.ContentType);
        return MessengerCodec.DecodeGroupChange(message.Body);
    }
}
