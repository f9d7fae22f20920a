using Parley.Server.Storage;

namespace Parley.Tests.Support;

/// <summary>What a running server's store holds, asked of the store itself (the inbox log is the server's alone while it runs).</summary>
public static class StoredMessages
{
    public static string DatabasePath(TestServer server) => Path.Combine(server.DataDirectory, "data", "parley.db");

    public static async Task<long> CountForAsync(TestServer server, string recipient) =>
        (await server.Server.Store.GetInboxUsageAsync(recipient, CancellationToken.None)).Messages;

    /// <summary>Every file that holds what the server stored about messages: the database, its WAL, and the inbox log's segments.</summary>
    public static IEnumerable<string> MessageFiles(string databasePath)
    {
        foreach (string file in new[] { databasePath, databasePath + "-wal" })
        {
            yield return file;
        }
        string inboxLog = SqliteMessageStore.InboxLogDirectory(databasePath);
        if (Directory.Exists(inboxLog))
        {
            foreach (string segment in Directory.GetFiles(inboxLog, "*.log*"))
            {
                yield return segment;
            }
        }
    }
}
