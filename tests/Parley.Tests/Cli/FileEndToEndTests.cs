using System.Security.Cryptography;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>Files through the real `parley` executable: sendfile, the offer, savefile and the --download-dir auto-save, with equal hashes.</summary>
public partial class MessengerEndToEndTests
{
    private const string FileMarker = "MARKER-cli-file-3c7d-never-in-the-clear-on-the-server";

    private static string MakeMarkedFile(TempDirectory temp, string name, int size)
    {
        byte[] content = RandomNumberGenerator.GetBytes(size);
        byte[] marker = System.Text.Encoding.ASCII.GetBytes(FileMarker);
        for (int at = 0; at + marker.Length <= size; at += 8192)
        {
            marker.CopyTo(content, at);
        }
        string path = temp.File(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static string HashOf(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public async Task Sendfile_offers_the_file_savefile_saves_it_with_the_same_hash_and_the_server_holds_only_ciphertext()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            string path = MakeMarkedFile(temp, "report.bin", 3 * 1024 * 1024 + 5);
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");

            await alice.WriteLineAsync($"sendfile bob {path}");
            await alice.WaitForLineAsync("[FILE] Sent report.bin (3.0 MiB), encrypted end to end");
            await alice.WaitForLineAsync("[STATUS] File offered to bob");
            Assert.Contains("[PROGRESS] sending report.bin 100%", alice.Stdout, StringComparison.Ordinal);
            await bob.WaitForLineAsync("[FILE] alice offers report.bin (3.0 MiB); 'savefile 1' to save it");
            foreach (string file in Directory.EnumerateFiles(Path.Combine(temp.Path, "data")))
            {
                Assert.False(FileContains(file, FileMarker), $"{Path.GetFileName(file)} holds the plaintext");
            }
            // bob keeps the offer (and the file key in it) sealed in his device database: no file of his home holds it in the clear.
            string nameInHex = Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes("report.bin"));
            foreach (string file in Directory.EnumerateFiles(temp.File("home-bob"), "*", SearchOption.AllDirectories))
            {
                Assert.False(FileContains(file, "report.bin") || FileContains(file, nameInHex), $"{file} holds the offer in the clear");
            }

            string saved = Directory.CreateDirectory(temp.File("bob-downloads")).FullName;
            await bob.WriteLineAsync($"savefile 1 {saved}");
            await bob.WaitForLineAsync("; SHA-256 verified");
            Assert.Equal(HashOf(path), HashOf(Path.Combine(saved, "report.bin")));
            // Saving again would not overwrite: the offer is gone once saved.
            await bob.WriteLineAsync("savefile 1");
            await bob.WaitForLineAsync("[ERROR] There is no file offer 1");

            await alice.WriteLineAsync("quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            await bob.WriteLineAsync("quit");
            Assert.Equal(1, await bob.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task Sendfile_to_a_group_uploads_once_for_its_members_and_each_saves_it_and_receipts_name_the_group()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess carol = StartChat(temp, "carol", port);
            await carol.WaitForLineAsync("[CLIENT] Authenticated as carol");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            foreach (ParleyProcess member in new[] { bob, carol })
            {
                await member.WriteLineAsync("group allow alice");
                await member.WaitForLineAsync("[STATUS] alice can now add you to groups without asking");
            }
            await alice.WriteLineAsync("group create team bob carol");
            Assert.EndsWith("alice (admin), bob, carol", await alice.WaitForLineAsync("[STATUS] Group #team created"));

            // A group text is receipted pairwise by each member (scripts only store it: "received").
            await alice.WriteLineAsync("send #team agenda follows");
            await bob.WaitForLineAsync("[#team] alice: agenda follows");
            string[] receipts = [(await alice.WaitForLineAsync("received your message in #team")).Trim(), (await alice.WaitForLineAsync("received your message in #team")).Trim()];
            Assert.Equal(["[STATUS] bob received your message in #team", "[STATUS] carol received your message in #team"], receipts.Order(StringComparer.Ordinal));

            string path = MakeMarkedFile(temp, "agenda.bin", 300 * 1024 + 7);
            await alice.WriteLineAsync($"sendfile #team {path}");
            await alice.WaitForLineAsync("[FILE] Sent agenda.bin (300.0 KiB), encrypted end to end");
            await alice.WaitForLineAsync("[STATUS] File offered to #team (3 members)");
            foreach (ParleyProcess member in new[] { bob, carol })
            {
                Assert.Contains("[#team]", await member.WaitForLineAsync("[FILE] alice offers agenda.bin (300.0 KiB); 'savefile 1' to save it"));
                string folder = Directory.CreateDirectory(temp.File($"downloads-{member.GetHashCode()}")).FullName;
                await member.WriteLineAsync($"savefile 1 {folder}");
                await member.WaitForLineAsync("; SHA-256 verified");
                Assert.Equal(HashOf(path), HashOf(Path.Combine(folder, "agenda.bin")));
            }
            foreach (string file in Directory.EnumerateFiles(Path.Combine(temp.Path, "data")))
            {
                Assert.False(FileContains(file, FileMarker), $"{Path.GetFileName(file)} holds the plaintext");
            }
        }
    }

    [Fact]
    public async Task With_a_download_folder_an_offered_file_is_saved_as_it_arrives_next_to_an_existing_one_never_over_it()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            string folder = Directory.CreateDirectory(temp.File("auto")).FullName;
            File.WriteAllText(Path.Combine(folder, "notes.bin"), "bob's own file");
            await using ParleyProcess bob = StartChat(temp, "bob", port, "--download-dir", folder);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");

            string path = MakeMarkedFile(temp, "notes.bin", 200 * 1024);
            await alice.WriteLineAsync($"sendfile bob {path}");
            await bob.WaitForLineAsync($"[FILE] alice sent notes.bin (200.0 KiB); saving it to {Path.Combine(folder, "notes (1).bin")}");
            await bob.WaitForLineAsync("; SHA-256 verified");
            Assert.Equal(HashOf(path), HashOf(Path.Combine(folder, "notes (1).bin")));
            Assert.Equal("bob's own file", File.ReadAllText(Path.Combine(folder, "notes.bin")));

            foreach (ParleyProcess chat in new[] { alice, bob })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
        }
    }

    [Fact]
    public async Task A_transfer_killed_at_half_goes_on_when_parley_chat_starts_again_on_both_sides()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            string path = MakeMarkedFile(temp, "big.bin", 96 * 1024 * 1024);
            await using (ParleyProcess bob = StartChat(temp, "bob", port))
            {
                await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
                await bob.WriteLineAsync("quit");
                Assert.Equal(0, await bob.WaitForExitAsync());
            }

            // The sender is killed halfway; started again, it goes on from its journal and offers the file. The
            // killed runs keep to a --file-rate, so the rest of the file cannot slip through while a busy
            // machine delays the kill: at 8 MiB/s the second half takes 6 s. The runs after go at full speed.
            await using (ParleyProcess alice = StartChat(temp, "alice", port, "--file-rate", "8MiB"))
            {
                await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
                await alice.WriteLineAsync($"sendfile bob {path}");
                await alice.WaitForLineAsync("[PROGRESS] sending big.bin 50%", TimeSpan.FromMinutes(1));
                alice.Kill();
                Assert.DoesNotContain("[FILE] Sent", alice.Stdout, StringComparison.Ordinal);
            }
            await using (ParleyProcess alice = StartChat(temp, "alice", port))
            {
                await alice.WaitForLineAsync("[FILE] Going on with sending big.bin to bob");
                await alice.WaitForLineAsync("[FILE] Sent big.bin (96.0 MiB), encrypted end to end", TimeSpan.FromMinutes(2));
                await alice.WaitForLineAsync("[STATUS] File offered to bob");
                string progress = alice.Stdout;
                Assert.DoesNotContain("[PROGRESS] sending big.bin 0%", progress, StringComparison.Ordinal);
                await alice.WriteLineAsync("quit");
                Assert.Equal(0, await alice.WaitForExitAsync());
            }

            // The receiver is killed once half is saved; started again, it goes on from the .part file.
            string folder = Directory.CreateDirectory(temp.File("bob-downloads")).FullName;
            string part = Path.Combine(folder, "big.bin.part");
            await using (ParleyProcess bob = StartChat(temp, "bob", port, "--file-rate", "8MiB"))
            {
                await bob.WaitForLineAsync("[FILE] alice offers big.bin (96.0 MiB); 'savefile 1'");
                await bob.WriteLineAsync($"savefile 1 {folder}");
                await bob.WaitForLineAsync("[PROGRESS] receiving big.bin 50%", TimeSpan.FromMinutes(1));
                bob.Kill();
            }
            Assert.False(File.Exists(Path.Combine(folder, "big.bin")), "the download finished before it was killed");
            Assert.InRange(new FileInfo(part).Length, 1, 96L * 1024 * 1024 - 1);
            await using (ParleyProcess bob = StartChat(temp, "bob", port))
            {
                await bob.WaitForLineAsync($"[FILE] Going on with saving big.bin (96.0 MiB) from alice to {Path.Combine(folder, "big.bin")}");
                await bob.WaitForLineAsync("; SHA-256 verified", TimeSpan.FromMinutes(2));
                Assert.DoesNotContain("[PROGRESS] receiving big.bin 0%", bob.Stdout, StringComparison.Ordinal);
                await bob.WriteLineAsync("quit");
                Assert.Equal(0, await bob.WaitForExitAsync());
            }
            Assert.Equal(HashOf(path), HashOf(Path.Combine(folder, "big.bin")));
            Assert.False(File.Exists(part));
        }
    }
}
