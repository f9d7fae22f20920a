using System.Security.Cryptography;
using Parley.Cli.Commands;
using Parley.Cli.Terminal;
using Parley.Client.Files;
using Parley.EndToEnd.Files;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>What a contact can make parley chat hold of file offers: a flood from one sender pushes out only that sender's own.</summary>
public class ChatFilesOfferTests
{
    private static byte[] Offer(string name)
    {
        using FileKey key = FileKey.Generate();
        using FileOffer offer = new(FileId.New(), new FileLayout(5000, FileLayout.DefaultChunkSize), key, SHA256.HashData(new byte[1]), name, "application/octet-stream");
        return offer.Encode();
    }

    [Fact]
    public void A_flood_of_offers_from_one_contact_keeps_only_its_newest_and_never_pushes_out_anothers()
    {
        using TempDirectory temp = new();
        using SealedFileRecords records = Parley.Tests.Files.FileTestKit.OpenRecords(temp.Path);
        ChatFiles files = new(new ChatConsole { Json = true }, "alice", records, temp.Path, null, () => "");
        files.Offered("bob", Offer("minutes.txt"));
        for (int i = 0; i < ChatFiles.MaxOffers + 10; i++)
        {
            files.Offered("mallory", Offer($"spam{i}.bin"));
        }

        string[] listed = files.List().Split(Environment.NewLine);
        Assert.Contains(listed, l => l.Contains("minutes.txt", StringComparison.Ordinal) && l.EndsWith("from bob", StringComparison.Ordinal));
        Assert.Equal(ChatFiles.MaxOffersPerSender, listed.Count(l => l.EndsWith("from mallory", StringComparison.Ordinal)));
        // The newest are kept: the last spam is listed, the first is gone (with its row and the key in it).
        Assert.Contains(listed, l => l.Contains($"spam{ChatFiles.MaxOffers + 9}.bin", StringComparison.Ordinal));
        Assert.DoesNotContain(listed, l => l.Contains("spam0.bin", StringComparison.Ordinal));
        Assert.Equal(ChatFiles.MaxOffersPerSender + 1, records.All(FileRecordKind.Offer).Count);
    }
}
