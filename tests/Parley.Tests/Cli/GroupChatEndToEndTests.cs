using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>
/// Groups through the real executables: one user allows the admin, another is invited and accepts,
/// three talk, one is removed, and the server holds only ciphertext.
/// </summary>
public partial class MessengerEndToEndTests
{
    [Fact]
    public async Task Three_users_talk_in_a_group_and_a_removed_member_hears_no_more()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            ParleyProcess bob = StartChat(temp, "bob", port);
            await using ParleyProcess firstBob = bob;
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess carol = StartChat(temp, "carol", port);
            await carol.WaitForLineAsync("[CLIENT] Authenticated as carol");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");

            // bob lets alice add him; carol has not, so she is invited and joins by accepting.
            await bob.WriteLineAsync("group allow alice");
            await bob.WaitForLineAsync("[STATUS] alice can now add you to groups without asking");
            await alice.WriteLineAsync("group create team bob carol");
            Assert.EndsWith("alice (admin), bob", await alice.WaitForLineAsync("[STATUS] Group #team created"));
            await alice.WaitForLineAsync("[STATUS] Invited carol to #team: they join when they accept");
            await bob.WaitForLineAsync("[STATUS] alice created #team with alice, you");
            await carol.WaitForLineAsync("[GROUP] alice invited you to #team; 'group accept team' to join or 'group decline team'");
            await carol.WriteLineAsync("group list");
            await carol.WaitForLineAsync("[GROUP] Invitation to #team from alice (");
            await carol.WriteLineAsync("group accept team");
            await carol.WaitForLineAsync("[STATUS] You joined #team: alice (admin), bob, carol (invited by alice; 'group allow alice' lets them add you without asking)");
            await alice.WaitForLineAsync("[STATUS] carol joined #team");
            await bob.WaitForLineAsync("[STATUS] carol joined #team");
            await bob.WriteLineAsync("group list");
            await bob.WaitForLineAsync("[GROUP] May add you without asking: alice");

            const string Marker = "MARKER-group-3c8e-members-only";
            await alice.WriteLineAsync($"send #team {Marker}");
            await alice.WaitForLineAsync("[STATUS] Message sent to #team (3 members)");
            await bob.WaitForLineAsync($"[#team] alice: {Marker}");
            await carol.WaitForLineAsync($"[#team] alice: {Marker}");
            await bob.WriteLineAsync("send #team hi all");
            await alice.WaitForLineAsync("[#team] bob: hi all");
            await carol.WaitForLineAsync("[#team] bob: hi all");

            // bob's chat restarts: the sender keys it was given are read back from its device database.
            await bob.WriteLineAsync("quit");
            Assert.Equal(0, await bob.WaitForExitAsync());
            await using ParleyProcess bobAgain = StartChat(temp, "bob", port);
            await bobAgain.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await alice.WriteLineAsync("send #team welcome back");
            await alice.WaitForLineAsync("[STATUS] Message sent to #team (3 members)");
            await bobAgain.WaitForLineAsync("[#team] alice: welcome back");
            bob = bobAgain;

            await alice.WriteLineAsync("group remove team carol");
            await alice.WaitForLineAsync("[STATUS] #team now has 2 members: alice (admin), bob");
            await carol.WaitForLineAsync("[STATUS] alice removed you from #team");
            await alice.WriteLineAsync("send #team only for bob now");
            await bob.WaitForLineAsync("[STATUS] alice removed carol from #team");
            await bob.WaitForLineAsync("[#team] alice: only for bob now");
            await carol.WriteLineAsync("group members team");
            await carol.WaitForLineAsync("[ERROR] You are not a member of 'team'");
            Assert.DoesNotContain("only for bob now", carol.Stdout);

            await bob.WriteLineAsync("group leave team");
            await bob.WaitForLineAsync("[STATUS] You left #team");
            await alice.WaitForLineAsync("[STATUS] bob left #team");

            string database = Path.Combine(temp.Path, "data", "parley.db");
            foreach (string file in StoredMessages.MessageFiles(database))
            {
                Assert.False(FileContains(file, Marker), $"{Path.GetFileName(file)} holds the plaintext");
            }
            foreach (ParleyProcess chat in new[] { alice, bob })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
            // carol's refused 'group members' makes a script's exit status 1.
            await carol.WriteLineAsync("quit");
            Assert.Equal(1, await carol.WaitForExitAsync());
        }
    }
}
