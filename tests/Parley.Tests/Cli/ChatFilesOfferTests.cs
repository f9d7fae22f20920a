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
    private static byte[] Offer(string name) => Offer(FileId.New(), name);

    private static byte[] Offer(FileId id, string name)
    {
        using FileKey key = FileKey.Generate();
        using FileOffer offer = new(id, new FileLayout(5000, FileLayout.DefaultChunkSize), key, SHA256.HashData(new byte[1]), name, "application/octet-stream");
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
    /// <summary>
    /// Two offers of one name, announced before either download begins (no connection yet here, as
    /// behind a running transfer): each takes its own name at once, partial file made, so the second
    /// never resumes from the first's partial file and fails on it (found by review: a peer's broken
    /// file made another's genuine file of the same name be refused and its offer forgotten). A path
    /// whose partial file is another download's is refused for `savefile`.
    /// </summary>
    [Fact]
    public async Task Offers_of_one_name_each_take_their_own_and_never_share_a_partial_file()
    {
        using TempDirectory temp = new();
        string download = Path.Combine(temp.Path, "dl");
        Directory.CreateDirectory(download);
        using SealedFileRecords records = Parley.Tests.Files.FileTestKit.OpenRecords(Path.Combine(temp.Path, "home"));
        ChatFiles files = new(new ChatConsole { Json = true }, "bob", records, Path.Combine(temp.Path, "transfers"), download, () => "");

        string first = files.Offered("mallory", Offer("report.pdf"));
        string second = files.Offered("alice", Offer("report.pdf"));
        Assert.EndsWith($"saving it to {Path.Combine(download, "report.pdf")}", first);
        Assert.EndsWith($"saving it to {Path.Combine(download, "report (1).pdf")}", second);
        Assert.True(File.Exists(Path.Combine(download, "report.pdf.part")));
        Assert.True(File.Exists(Path.Combine(download, "report (1).pdf.part")));

        // A third offer, saved by hand to the first one's path: refused before anything is fetched.
        files.Offered("carol", Offer("notes.txt"));
        int third = int.Parse(System.Text.RegularExpressions.Regex.Match(files.List(), @"\[FILE\] (\d+): notes\.txt").Groups[1].Value);
        string refused = await files.SaveAsync(null!, third, Path.Combine(download, "report.pdf"), CancellationToken.None);
        Assert.Contains("is another download's partial file", refused);
    }
    /// <summary>
    /// Offers are kept by the file id the offering peer chooses: another peer offering under that id is
    /// refused, so it can neither replace the first's stored offer nor, by flooding, delete it (found by
    /// review: after a restart bob's offer was gone). The same sender offering it again is a repeat.
    /// </summary>
    [Fact]
    public void An_offer_under_another_senders_file_id_is_refused_and_the_first_is_kept()
    {
        using TempDirectory temp = new();
        using SealedFileRecords records = Parley.Tests.Files.FileTestKit.OpenRecords(temp.Path);
        ChatFiles files = new(new ChatConsole { Json = true }, "alice", records, temp.Path, null, () => "");
        FileId id = FileId.New();
        files.Offered("bob", Offer(id, "minutes.txt"));
        Assert.StartsWith("[ERROR] mallory offered a file under the id of one bob offered", files.Offered("mallory", Offer(id, "whatever.bin")));
        Assert.Contains("again", files.Offered("bob", Offer(id, "minutes.txt")));
        for (int i = 0; i < ChatFiles.MaxOffersPerSender + 5; i++)
        {
            files.Offered("mallory", Offer($"spam{i}.bin"));
        }

        // What a restart reads back: bob's offer, once.
        ChatFiles again = new(new ChatConsole { Json = true }, "alice", records, temp.Path, null, () => "");
        again.Load();
        Assert.Single(again.List().Split(Environment.NewLine), l => l.Contains("minutes.txt", StringComparison.Ordinal) && l.EndsWith("from bob", StringComparison.Ordinal));
    }
}
