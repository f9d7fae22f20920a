using Parley.Client;
using Parley.Client.Files;
using Parley.EndToEnd.Files;
using Parley.Messaging;
using Parley.Tests.Support;
using static Parley.Tests.Files.FileTestKit;

namespace Parley.Tests.Cluster;

/// <summary>
/// Files (PROTOCOL.md §11.8) on two nodes sharing one PostgreSQL database and one Redis: a file
/// uploaded through one node is downloaded through the other, whole, and deleted once taken.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class TwoNodeFileTests(ClusterEngines engines)
{
    [EnginesFact]
    public async Task A_file_uploaded_on_one_node_is_downloaded_on_the_other_and_deleted_once_taken()
    {
        using TempDirectory files = new();
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(one, "alice");
            await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(two, "bob");
            string path = MakeFile(files, "report.bin", 200 * 1024 + 17);

            using SealedFileRecords records = OpenRecords(files.File("alice-home"));
            UploadEntry sent = await SendFileAsync(alice, "bob", path, new UploadJournal(records), chunkSize: 4096);
            using FileOffer offer = await NextOfferAsync(bob);
            Assert.Equal(sent.FileId, offer.FileId.ToString());

            string saved = files.File("saved.bin");
            await new FileReceiver(bob.Client).ReceiveAsync(offer, saved, null).WithTimeout();
            Assert.Equal(Sha256Of(path), Sha256Of(saved));

            // Bob's only device has it: the shared store deleted it, and asking again is unknown_file.
            ChatException gone = await Assert.ThrowsAsync<ChatException>(async () =>
            {
                await foreach (FileData _ in bob.Client.DownloadAsync(sent.FileId, 0, 1))
                {
                }
            }).WithTimeout();
            Assert.Equal(ErrorCodes.UnknownFile, gone.Code);
        }
    }
}
