using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>Whether bytes appear anywhere in the server's SQLite database or its log (the plaintext-marker check).</summary>
internal static class ServerFiles
{
    public static bool Contain(TestServer server, byte[] marker)
    {
        foreach (string path in Directory.GetFiles(Path.Combine(server.DataDirectory, "data")))
        {
            using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using MemoryStream copy = new();
            stream.CopyTo(copy);
            if (copy.ToArray().AsSpan().IndexOf(marker) >= 0)
            {
                return true;
            }
        }
        return false;
    }
}
