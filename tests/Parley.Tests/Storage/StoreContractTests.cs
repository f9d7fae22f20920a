using System.Text;
using Parley.Server.Storage;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>
/// IMessageStore's contract, run against every implementation (SqliteStoreContractTests,
/// PostgresStoreContractTests): per-recipient ids in commit order and never reused, even with two
/// handles (two nodes) committing at once; device-scoped inboxes and acknowledgements; paging
/// bounds; device tokens and their cap; the key directory handing each one-time key out once.
/// A new store interface (groups, files) gets its own abstract suite beside this one, with the same
/// two derived classes, each opening the new store from <see cref="OpenAsync"/>'s location.
/// </summary>
public abstract class StoreContractTests
{
    /// <summary>Opens a handle on this test's store; every call opens another handle on the same data, as another node would.</summary>
    protected abstract Task<IMessageStore> OpenAsync();

    private static NewMessage To(string recipient, string body, string device = "", long at = 1) =>
        new("sender", recipient, at, "text/plain", Encoding.UTF8.GetBytes(body), Broadcast: false, device, "sender-device");

    private static string Text(StoredMessage m) => Encoding.UTF8.GetString(m.Body);

    private static Account NewAccount(string name) =>
        new(name, new PasswordVerifier("pbkdf2-sha256", 1000, [1, 2], [3, 4]), 7, AccountIdOf(name));

    private static string AccountIdOf(string name) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32];

    private static async Task AddDeviceAsync(IMessageStore store, string user, string device, long now = 1)
    {
        Assert.True(await store.TryAddDeviceTokenAsync(Encoding.UTF8.GetBytes(user + "/" + device), device, user, now, 16, CancellationToken.None));
    }

    [StoreFact]
    public async Task Each_recipient_counts_its_own_ids_in_commit_order_and_never_reuses_one()
    {
        await using IMessageStore store = await OpenAsync();
        CommitResult first = await store.CommitAsync([To("alice", "a1"), To("bob", "b1"), To("alice", "a2")], [], CancellationToken.None);
        Assert.Equal([1L, 1L, 2L], first.Stored.Select(m => m.Id));

        // Acknowledge alice's newest: the next one still gets a fresh id.
        CommitResult acked = await store.CommitAsync([], [new InboxAck("alice", "", 2)], CancellationToken.None);
        Assert.Equal([new RemovedMessage("alice", 2)], acked.Removed);
        CommitResult second = await store.CommitAsync([To("alice", "a3")], [], CancellationToken.None);
        Assert.Equal(3, Assert.Single(second.Stored).Id);

        IReadOnlyList<StoredMessage> inbox = await store.LoadInboxAsync("alice", "any-device", 0, 100, long.MaxValue, CancellationToken.None);
        Assert.Equal([1L, 3L], inbox.Select(m => m.Id));
        Assert.Equal(["a1", "a3"], inbox.Select(Text));
        Assert.All(inbox, m => Assert.Equal(("sender", "sender-device", "text/plain", false), (m.Sender, m.SenderDevice, m.ContentType, m.Broadcast)));
    }

    [StoreFact]
    public async Task A_large_commit_stores_every_message_with_its_own_fields_in_the_order_given()
    {
        await using IMessageStore store = await OpenAsync();
        // 21 messages: more than two of the SQLite store's multi-row inserts (8 rows each) and a remainder,
        // each with fields of its own, so a row bound to the wrong place in a statement would show.
        NewMessage[] batch = [.. Enumerable.Range(0, 21).Select(i => new NewMessage(
            $"sender{i}", i % 3 == 0 ? "carol" : "dave", 1000 + i, $"text/t{i}", Encoding.UTF8.GetBytes($"body {i}"), Broadcast: i % 2 == 0,
            i % 5 == 0 ? "phone" : "", $"device{i}"))];
        CommitResult result = await store.CommitAsync(batch, [], CancellationToken.None);

        Assert.Equal([.. Enumerable.Range(1, 7).Select(n => (long)n)], result.Stored.Where(m => m.Recipient == "carol").Select(m => m.Id));
        Assert.Equal([.. Enumerable.Range(1, 14).Select(n => (long)n)], result.Stored.Where(m => m.Recipient == "dave").Select(m => m.Id));
        foreach (string recipient in new[] { "carol", "dave" })
        {
            IReadOnlyList<StoredMessage> inbox = await store.LoadInboxAsync(recipient, "phone", 0, 100, long.MaxValue, CancellationToken.None);
            NewMessage[] expected = [.. batch.Where(m => m.Recipient == recipient)];
            Assert.Equal(expected.Length, inbox.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                NewMessage sent = expected[i];
                StoredMessage read = inbox[i];
                Assert.Equal((i + 1L, sent.Sender, sent.Timestamp, sent.ContentType, Encoding.UTF8.GetString(sent.Body), sent.Broadcast, sent.RecipientDevice, sent.SenderDevice),
                    (read.Id, read.Sender, read.Timestamp, read.ContentType, Text(read), read.Broadcast, read.RecipientDevice, read.SenderDevice));
            }
        }
    }

    [StoreFact]
    public async Task A_run_of_acknowledged_ids_removes_exactly_those_rows_of_that_device_and_counts_each()
    {
        await using IMessageStore store = await OpenAsync();
        // bob 1..6: 3 is for bob's other device; alice 1..2 interleaved with bob's acknowledgements.
        await store.CommitAsync([To("bob", "b1"), To("bob", "b22"), To("bob", "b333", device: "phone"), To("bob", "b4444"), To("bob", "b5"), To("bob", "b6"),
            To("alice", "a1"), To("alice", "a2")], [], CancellationToken.None);

        CommitResult acked = await store.CommitAsync([],
            [new InboxAck("bob", "laptop", 1), new InboxAck("bob", "laptop", 2), new InboxAck("bob", "laptop", 3), new InboxAck("bob", "laptop", 4),
             new InboxAck("alice", "", 1), new InboxAck("alice", "", 2), new InboxAck("bob", "laptop", 6), new InboxAck("bob", "laptop", 7)],
            CancellationToken.None);

        // The phone's message and the unacknowledged 5 stay; the made-up 7 removes nothing.
        Assert.Equal([("alice", 2L), ("alice", 2L), ("bob", 2L), ("bob", 2L), ("bob", 3L), ("bob", 5L)],
            acked.Removed.Select(r => (r.Recipient, r.BodyBytes)).Order());
        Assert.Equal([3L, 5L], (await store.LoadInboxAsync("bob", "phone", 0, 100, long.MaxValue, CancellationToken.None)).Select(m => m.Id));
        Assert.Equal([5L], (await store.LoadInboxAsync("bob", "laptop", 0, 100, long.MaxValue, CancellationToken.None)).Select(m => m.Id));
        Assert.Empty(await store.LoadInboxAsync("alice", "", 0, 100, long.MaxValue, CancellationToken.None));
    }

    [StoreFact]
    public async Task Ids_survive_a_reopen_of_the_store()
    {
        await using (IMessageStore store = await OpenAsync())
        {
            await store.CommitAsync([To("alice", "1"), To("alice", "2")], [new InboxAck("alice", "", 1)], CancellationToken.None);
            await store.CommitAsync([], [new InboxAck("alice", "", 2)], CancellationToken.None);
        }
        await using IMessageStore reopened = await OpenAsync();
        CommitResult next = await reopened.CommitAsync([To("alice", "3")], [], CancellationToken.None);
        Assert.Equal(3, Assert.Single(next.Stored).Id);
    }

    [StoreFact]
    public async Task A_commit_that_fails_stores_nothing_and_takes_no_id()
    {
        await using IMessageStore store = await OpenAsync();
        await store.CommitAsync([To("alice", "a1")], [], CancellationToken.None);
        // The second row breaks a NOT NULL column after the first was inserted and given id 2.
        NewMessage broken = To("alice", "broken") with { ContentType = null! };
        await Assert.ThrowsAnyAsync<Exception>(() => store.CommitAsync([To("alice", "a2"), broken], [new InboxAck("alice", "", 1)], CancellationToken.None));

        CommitResult next = await store.CommitAsync([To("alice", "a3")], [], CancellationToken.None);
        Assert.Equal(2, Assert.Single(next.Stored).Id);
        IReadOnlyList<StoredMessage> inbox = await store.LoadInboxAsync("alice", "", 0, 100, long.MaxValue, CancellationToken.None);
        Assert.Equal(["a1", "a3"], inbox.Select(Text));
    }

    [StoreFact]
    public async Task Two_handles_committing_at_once_give_each_recipient_gapless_ids_in_commit_order()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        // Batches name the recipients in different orders: the store must neither deadlock nor reuse an id.
        Task<CommitResult>[] commits = [.. Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? one : two).CommitAsync(
            i % 3 == 0 ? [To("alice", $"a{i}"), To("bob", $"b{i}")] : [To("bob", $"b{i}"), To("alice", $"a{i}"), To("alice", $"a{i}'")],
            [], CancellationToken.None))];
        CommitResult[] results = await Task.WhenAll(commits);
        foreach (string recipient in new[] { "alice", "bob" })
        {
            long[] ids = [.. results.SelectMany(r => r.Stored).Where(m => m.Recipient == recipient).Select(m => m.Id).Order()];
            Assert.Equal(Enumerable.Range(1, ids.Length).Select(i => (long)i), ids);
            IReadOnlyList<StoredMessage> inbox = await two.LoadInboxAsync(recipient, "d", 0, 1000, long.MaxValue, CancellationToken.None);
            Assert.Equal(ids, inbox.Select(m => m.Id));
        }
        // Within one commit, a recipient's messages take consecutive ids in the batch's order.
        foreach (CommitResult result in results)
        {
            long[] alice = [.. result.Stored.Where(m => m.Recipient == "alice").Select(m => m.Id)];
            Assert.Equal(alice.Order(), alice);
        }
    }

    [StoreFact]
    public async Task A_device_loads_the_accounts_messages_and_its_own_and_acknowledges_only_those()
    {
        await using IMessageStore store = await OpenAsync();
        await store.CommitAsync([To("alice", "phone", "phone1"), To("alice", "all"), To("alice", "laptop", "laptop1")], [], CancellationToken.None);
        IReadOnlyList<StoredMessage> phone = await store.LoadInboxAsync("alice", "phone1", 0, 100, long.MaxValue, CancellationToken.None);
        Assert.Equal(["phone", "all"], phone.Select(Text));
        Assert.Equal(["phone1", ""], phone.Select(m => m.RecipientDevice));

        // The laptop cannot acknowledge the phone's message away, nor bob alice's.
        CommitResult refused = await store.CommitAsync([], [new InboxAck("alice", "laptop1", 1), new InboxAck("bob", "", 2)], CancellationToken.None);
        Assert.Empty(refused.Removed);
        Assert.Equal(new InboxUsage(3, 14), await store.GetInboxUsageAsync("alice", CancellationToken.None));

        CommitResult acked = await store.CommitAsync([], [new InboxAck("alice", "phone1", 1), new InboxAck("alice", "phone1", 2)], CancellationToken.None);
        Assert.Equal(2, acked.Removed.Count);
        Assert.Equal(new InboxUsage(1, 6), await store.GetInboxUsageAsync("alice", CancellationToken.None));
    }

    [StoreFact]
    public async Task An_inbox_page_is_bounded_in_count_and_bytes_but_always_holds_one_message()
    {
        await using IMessageStore store = await OpenAsync();
        await store.CommitAsync([To("alice", new string('x', 100)), To("alice", new string('y', 100)), To("alice", "z"), To("alice", "w")], [], CancellationToken.None);
        Assert.Equal([1L], (await store.LoadInboxAsync("alice", "d", 0, 10, 50, CancellationToken.None)).Select(m => m.Id));
        Assert.Equal([1L, 2L], (await store.LoadInboxAsync("alice", "d", 0, 10, 200, CancellationToken.None)).Select(m => m.Id));
        Assert.Equal([2L, 3L], (await store.LoadInboxAsync("alice", "d", 1, 2, long.MaxValue, CancellationToken.None)).Select(m => m.Id));
        Assert.Empty(await store.LoadInboxAsync("alice", "d", 4, 10, long.MaxValue, CancellationToken.None));
        Assert.Empty(await store.LoadInboxAsync("nobody", "d", 0, 10, long.MaxValue, CancellationToken.None));
    }

    [StoreFact]
    public async Task Expiry_removes_old_messages_and_those_for_a_device_that_is_gone()
    {
        await using IMessageStore store = await OpenAsync();
        Assert.True(await store.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None));
        await AddDeviceAsync(store, "alice", "phone1");
        await store.CommitAsync([To("alice", "old", at: 10), To("alice", "new", at: 100), To("alice", "phone", "phone1", at: 100), To("alice", "gone", "laptop1", at: 100)], [],
            CancellationToken.None);
        Assert.Equal(2, await store.DeleteExpiredAsync(createdBefore: 50, CancellationToken.None));
        await store.CheckpointAsync(CancellationToken.None);
        Assert.Equal(["new", "phone"], (await store.LoadInboxAsync("alice", "phone1", 0, 10, long.MaxValue, CancellationToken.None)).Select(Text));
    }

    [StoreFact]
    public async Task Accounts_are_created_once_and_found_by_name()
    {
        await using IMessageStore store = await OpenAsync();
        Assert.Null(await store.FindAccountAsync("alice", CancellationToken.None));
        Assert.False(await store.AccountExistsAsync("alice", CancellationToken.None));
        Assert.True(await store.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None));
        Assert.False(await store.TryCreateAccountAsync(NewAccount("alice") with { AccountId = "other" }, CancellationToken.None));
        Account found = (await store.FindAccountAsync("alice", CancellationToken.None))!;
        Assert.Equal(("alice", "pbkdf2-sha256", 1000, 7L, AccountIdOf("alice")), (found.Username, found.Password.Algorithm, found.Password.Iterations, found.CreatedAt, found.AccountId));
        Assert.Equal([1, 2], found.Password.Salt);
        Assert.Equal([3, 4], found.Password.Hash);
        Assert.True(await store.AccountExistsAsync("alice", CancellationToken.None));
    }

    [StoreFact]
    public async Task Device_tokens_are_found_by_hash_capped_per_account_and_revoked_by_id()
    {
        await using IMessageStore store = await OpenAsync();
        await store.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None);
        Assert.True(await store.TryAddDeviceTokenAsync([1], "d1", "alice", 10, 2, CancellationToken.None));
        Assert.False(await store.TryAddDeviceTokenAsync([9], "d1", "alice", 11, 2, CancellationToken.None));
        Assert.True(await store.TryAddDeviceTokenAsync([2], "d2", "alice", 20, 2, CancellationToken.None));
        await store.TouchDeviceTokenAsync("alice", "d1", 30, CancellationToken.None);
        // Touching never moves last use back.
        await store.TouchDeviceTokenAsync("alice", "d1", 5, CancellationToken.None);
        Assert.Equal(new StoredDeviceToken("d1", "alice", 10, 30), await store.FindDeviceTokenAsync([1], CancellationToken.None));

        // A third device evicts the least recently used (d2), never the new one.
        Assert.True(await store.TryAddDeviceTokenAsync([3], "d3", "alice", 25, 2, CancellationToken.None));
        Assert.Equal(["d1", "d3"], (await store.ListDeviceTokensAsync("alice", 0, 10, CancellationToken.None)).Select(t => t.DeviceId));
        Assert.Null(await store.FindDeviceTokenAsync([2], CancellationToken.None));
        Assert.Equal(["d1"], (await store.ListDeviceTokensAsync("alice", 26, 10, CancellationToken.None)).Select(t => t.DeviceId));
        Assert.Single(await store.ListDeviceTokensAsync("alice", 0, 1, CancellationToken.None));

        Assert.True(await store.DeviceExistsAsync("alice", "d3", CancellationToken.None));
        Assert.True(await store.DeleteDeviceTokenAsync("alice", "d3", CancellationToken.None));
        Assert.False(await store.DeleteDeviceTokenAsync("alice", "d3", CancellationToken.None));
        Assert.False(await store.DeviceExistsAsync("alice", "d3", CancellationToken.None));
    }

    private static DeviceKeysUpload Upload(string user, string device, string identity, int oneTime, int kem, bool signedKeys = true, string prefix = "") =>
        new(user, device, Encoding.UTF8.GetBytes(identity), signedKeys ? Encoding.UTF8.GetBytes("spk-" + device) : null,
            signedKeys ? Encoding.UTF8.GetBytes("last-" + device) : null,
            [.. Enumerable.Range(0, oneTime).Select(i => Encoding.UTF8.GetBytes($"{prefix}otk-{device}-{i}"))],
            [.. Enumerable.Range(0, kem).Select(i => Encoding.UTF8.GetBytes($"{prefix}kem-{device}-{i}"))], 1);

    [StoreFact]
    public async Task Publishing_keys_checks_the_identity_the_signed_keys_and_the_bound_and_a_refusal_stores_nothing()
    {
        await using IMessageStore store = await OpenAsync();
        await store.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None);
        await AddDeviceAsync(store, "alice", "d1");
        Assert.Equal(PublishOutcome.MissingSignedKeys, (await store.PublishDeviceKeysAsync(Upload("alice", "d1", "ik", 1, 0, signedKeys: false), 4, CancellationToken.None)).Outcome);
        Assert.Equal(new PublishResult(PublishOutcome.Stored, 2, 1), await store.PublishDeviceKeysAsync(Upload("alice", "d1", "ik", 2, 1), 4, CancellationToken.None));
        Assert.Equal(new PublishResult(PublishOutcome.IdentityKeyChanged, 2, 1), await store.PublishDeviceKeysAsync(Upload("alice", "d1", "other", 1, 0), 4, CancellationToken.None));
        Assert.Equal(new PublishResult(PublishOutcome.TooManyOneTimeKeys, 2, 1),
            await store.PublishDeviceKeysAsync(Upload("alice", "d1", "ik", 3, 0, prefix: "more-"), 4, CancellationToken.None));
        // Signed keys may be left out once published; the one-time keys add up.
        Assert.Equal(new PublishResult(PublishOutcome.Stored, 4, 1),
            await store.PublishDeviceKeysAsync(Upload("alice", "d1", "ik", 2, 0, signedKeys: false, prefix: "more-"), 4, CancellationToken.None));
        Assert.Equal(["d1"], await store.KeyedDevicesAsync("alice", CancellationToken.None));
    }

    [StoreFact]
    public async Task One_time_keys_are_handed_out_once_in_order_then_the_last_resort_key()
    {
        await using IMessageStore store = await OpenAsync();
        await store.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None);
        await AddDeviceAsync(store, "alice", "d1");
        await store.PublishDeviceKeysAsync(Upload("alice", "d1", "ik", 2, 1), 10, CancellationToken.None);
        TakenBundle first = Assert.Single(await store.TakeBundlesAsync("alice", null, null, CancellationToken.None));
        TakenBundle second = Assert.Single(await store.TakeBundlesAsync("alice", null, null, CancellationToken.None));
        TakenBundle third = Assert.Single(await store.TakeBundlesAsync("alice", null, null, CancellationToken.None));
        Assert.Equal(["otk-d1-0", "otk-d1-1"], new[] { first.OneTimePrekey!, second.OneTimePrekey! }.Select(Encoding.UTF8.GetString));
        Assert.Null(third.OneTimePrekey);
        Assert.Equal(("kem-d1-0", false), (Encoding.UTF8.GetString(first.KemPrekey), first.KemPrekeyIsLastResort));
        Assert.Equal(("last-d1", true), (Encoding.UTF8.GetString(second.KemPrekey), second.KemPrekeyIsLastResort));
        Assert.Equal(("ik", "spk-d1"), (Encoding.UTF8.GetString(third.IdentityKey), Encoding.UTF8.GetString(third.SignedPrekey)));
    }

    [StoreFact]
    public async Task Concurrent_fetchers_on_two_handles_never_get_the_same_one_time_key()
    {
        await using IMessageStore one = await OpenAsync();
        await using IMessageStore two = await OpenAsync();
        await one.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None);
        await AddDeviceAsync(one, "alice", "d1");
        await one.PublishDeviceKeysAsync(Upload("alice", "d1", "ik", 8, 0), 10, CancellationToken.None);
        IReadOnlyList<TakenBundle>[] taken = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? one : two).TakeBundlesAsync("alice", null, null, CancellationToken.None)));
        string[] handedOut = [.. taken.Select(t => Assert.Single(t).OneTimePrekey).OfType<byte[]>().Select(Encoding.UTF8.GetString)];
        Assert.Equal(8, handedOut.Length);
        Assert.Equal(8, handedOut.Distinct().Count());
    }

    [StoreFact]
    public async Task A_fetch_leaves_out_the_fetching_device_unnamed_devices_and_revoked_ones()
    {
        await using IMessageStore store = await OpenAsync();
        await store.TryCreateAccountAsync(NewAccount("alice"), CancellationToken.None);
        foreach (string device in new[] { "d1", "d2", "d3" })
        {
            await AddDeviceAsync(store, "alice", device);
            await store.PublishDeviceKeysAsync(Upload("alice", device, "ik-" + device, 1, 1), 10, CancellationToken.None);
        }
        Assert.Equal(["d2", "d3"], (await store.TakeBundlesAsync("alice", "d1", null, CancellationToken.None)).Select(b => b.DeviceId));
        Assert.Equal(["d1"], (await store.TakeBundlesAsync("alice", null, ["d1"], CancellationToken.None)).Select(b => b.DeviceId));
        await store.DeleteDeviceTokenAsync("alice", "d2", CancellationToken.None);
        Assert.Equal(["d1", "d3"], await store.KeyedDevicesAsync("alice", CancellationToken.None));
        IReadOnlyList<TakenBundle> rest = await store.TakeBundlesAsync("alice", null, null, CancellationToken.None);
        Assert.Equal(["d1", "d3"], rest.Select(b => b.DeviceId));
        // Each gave its one one-time key out above: now only the last-resort keys are left.
        Assert.Equal([true, true], rest.Select(b => b.KemPrekeyIsLastResort));
        Assert.All(rest, b => Assert.Null(b.OneTimePrekey));
        // The sweep drops the revoked device's keys.
        await store.DeleteExpiredAsync(0, CancellationToken.None);
        Assert.Empty(await store.TakeBundlesAsync("alice", null, ["d2"], CancellationToken.None));
    }
}
