using Parley.Server.Storage.Inbox;

namespace Parley.Tests.Storage;

/// <summary>The inbox log's per-recipient index against a plain sorted model, through thousands of mixed operations.</summary>
public class RecipientInboxTests
{
    private sealed record Model(long Id, string Device, int BodyLength);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Adds_removals_and_pages_agree_with_a_sorted_model(int seed)
    {
        Random random = new(seed);
        RecipientInbox inbox = new("alice");
        SortedDictionary<long, Model> model = [];
        string[] devices = ["", "", "phone", "laptop"];
        long nextId = 1;
        for (int step = 0; step < 20_000; step++)
        {
            int choice = random.Next(10);
            if (choice < 4)
            {
                long id = nextId;
                nextId += random.Next(1, 3);
                string device = devices[random.Next(devices.Length)];
                int length = random.Next(0, 500);
                inbox.Put(id, step, device, length, new EntryPlace(1, (int)id, 40 + length), out EntryPlace? replaced);
                Assert.Null(replaced);
                model[id] = new Model(id, device, length);
            }
            else if (choice < 8)
            {
                // Mostly the oldest (acknowledgements), sometimes any id, sometimes one that is not there.
                long id = model.Count > 0 && choice < 6 ? model.Keys.First() : random.NextInt64(0, nextId + 2);
                bool expected = model.Remove(id, out Model? gone);
                Assert.Equal(expected, inbox.Remove(id, out RecipientInbox.Entry removed));
                if (expected)
                {
                    Assert.Equal((gone!.Id, gone.BodyLength), (removed.Id, removed.BodyLength));
                }
            }
            else
            {
                string device = devices[random.Next(devices.Length)];
                long after = random.NextInt64(0, nextId);
                int limit = random.Next(1, 50);
                long maxBytes = random.Next(0, 3000);
                List<RecipientInbox.Entry> page = [];
                inbox.Page(device, after, limit, maxBytes, page);
                Assert.Equal(ExpectedPage(model, device, after, limit, maxBytes), page.Select(e => e.Id));
            }
            Assert.Equal(model.Count, inbox.Count);
            Assert.Equal(model.Values.Sum(m => (long)m.BodyLength), inbox.BodyBytes);
        }
        Assert.Equal(model.Keys, inbox.Live().Select(e => e.Id));
    }

    /// <summary>
    /// The same against the model with 40 device names, so the names are compacted and the entries
    /// renumbered again and again, and with ids put in below the newest, as a replay puts a
    /// compaction's copy behind later messages (found by review: an entry shifted by such an insert
    /// missed the renumbering the new name caused, and its message went to another device).
    /// </summary>
    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Renumbered_device_names_keep_every_entry_with_its_device(int seed)
    {
        Random random = new(seed);
        RecipientInbox inbox = new("alice");
        SortedDictionary<long, Model> model = [];
        HashSet<long> used = [];
        string[] devices = ["", .. Enumerable.Range(0, 40).Select(i => $"device-{i}")];
        long nextId = 1;
        for (int step = 0; step < 20_000; step++)
        {
            int choice = random.Next(10);
            if (choice < 5)
            {
                // An id below the newest that was never used (a gap), or the next one.
                long id = choice < 2 && nextId > 2 ? random.NextInt64(1, nextId) : nextId;
                if (!used.Add(id))
                {
                    continue;
                }
                nextId = Math.Max(nextId, id + random.Next(1, 4));
                string device = devices[random.Next(devices.Length)];
                inbox.Put(id, step, device, 10, new EntryPlace(1, (int)id, 50), out EntryPlace? replaced);
                Assert.Null(replaced);
                model[id] = new Model(id, device, 10);
            }
            else if (choice < 9 && model.Count > 0)
            {
                long id = choice < 7 ? model.Keys.First() : model.Keys.ElementAt(random.Next(model.Count));
                model.Remove(id);
                Assert.True(inbox.Remove(id, out _));
            }
            else
            {
                string device = devices[random.Next(devices.Length)];
                List<RecipientInbox.Entry> page = [];
                inbox.Page(device, 0, int.MaxValue, long.MaxValue, page);
                Assert.Equal(ExpectedPage(model, device, 0, int.MaxValue, long.MaxValue), page.Select(e => e.Id));
            }
        }
        foreach (RecipientInbox.Entry entry in inbox.Live())
        {
            Assert.Equal(model[entry.Id].Device, inbox.DeviceName(entry.Device));
        }
        Assert.Equal(model.Keys, inbox.Live().Select(e => e.Id));
    }

    private static IEnumerable<long> ExpectedPage(SortedDictionary<long, Model> model, string device, long after, int limit, long maxBytes)
    {
        List<long> page = [];
        long bytes = 0;
        foreach (Model m in model.Values.Where(m => m.Id > after && (m.Device.Length == 0 || m.Device == device)))
        {
            bytes += m.BodyLength;
            if (page.Count == limit || (page.Count > 0 && bytes > maxBytes))
            {
                break;
            }
            page.Add(m.Id);
        }
        return page;
    }

    [Fact]
    public void A_copy_of_a_live_entry_moves_it_and_a_copy_replayed_after_later_messages_goes_in_at_its_place()
    {
        RecipientInbox inbox = new("alice");
        inbox.Put(1, 0, "", 10, new EntryPlace(1, 100, 50), out _);
        inbox.Put(2, 0, "", 10, new EntryPlace(1, 200, 50), out _);
        inbox.Put(2, 0, "", 10, new EntryPlace(3, 24, 50), out EntryPlace? moved);
        Assert.Equal(new EntryPlace(1, 200, 50), moved);

        // Replay after the segment holding ids 3 and 4 was compacted into segment 5, behind id 6: the copies come after id 6.
        RecipientInbox replayed = new("bob");
        replayed.Put(6, 0, "", 10, new EntryPlace(5, 24, 50), out _);
        replayed.Put(3, 0, "phone", 10, new EntryPlace(5, 80, 50), out EntryPlace? first);
        replayed.Put(4, 0, "", 10, new EntryPlace(5, 136, 50), out _);

        Assert.Null(first);
        Assert.Equal([3L, 4L, 6L], replayed.Live().Select(e => e.Id));
        Assert.Equal(3, replayed.Count);
        Assert.Equal(6, replayed.Head);
        List<RecipientInbox.Entry> page = [];
        replayed.Page("laptop", 0, 10, long.MaxValue, page);
        Assert.Equal([4L, 6L], page.Select(e => e.Id));
    }

    /// <summary>
    /// A recipient whose inbox never empties while its devices come and go (a new device at every
    /// password login): 100,000 device names over its life, a few alive at any time. The index
    /// keeps only the names live entries use, and every entry still belongs to its device (found
    /// by review: the names were only added, and past 65,535 a commit failed after its frame was
    /// on disk).
    /// </summary>
    [Fact]
    public void Device_names_no_entry_uses_are_dropped_and_entries_keep_their_devices()
    {
        RecipientInbox inbox = new("alice");
        inbox.Put(1, 0, "", 10, new EntryPlace(1, 0, 50), out _);
        inbox.Put(2, 0, "kept-device", 10, new EntryPlace(1, 50, 50), out _);
        long id = 3;
        for (int device = 0; device < 100_000; device++)
        {
            inbox.Put(id, 0, $"device-{device}", 10, new EntryPlace(1, (int)id, 50), out _);
            if (device % 1000 != 0)
            {
                Assert.True(inbox.Remove(id, out _));
            }
            id++;
        }
        // Live: the account's message, the kept device's, and every thousandth device's.
        Assert.Equal(2 + 100, inbox.Count);
        Assert.InRange(inbox.DeviceNames.Count, 2 + 100, 2 * (2 + 100) + 16);
        inbox.CompactDeviceNames();
        Assert.Equal(2 + 100, inbox.DeviceNames.Count);
        foreach (RecipientInbox.Entry entry in inbox.Live())
        {
            string expected = entry.Id switch { 1 => "", 2 => "kept-device", _ => $"device-{entry.Id - 3}" };
            Assert.Equal(expected, inbox.DeviceName(entry.Device));
        }
        List<RecipientInbox.Entry> page = [];
        inbox.Page("device-5000", 0, 1000, long.MaxValue, page);
        Assert.Equal([1L, 5003L], page.Select(e => e.Id));
    }
}
