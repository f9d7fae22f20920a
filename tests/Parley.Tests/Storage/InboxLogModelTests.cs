using System.Text;
using Parley.Server.Storage;
using Parley.Server.Storage.Inbox;
using Xunit.Abstractions;

namespace Parley.Tests.Storage;

/// <summary>
/// The inbox log against a plain model through random commits, acknowledgements (of the right
/// device, the wrong one, stale ids), expiries, checkpoints, reopens and, for half the seeds, old
/// database rows moved in, with 4 KiB segments so that rotations, deletions and compactions happen
/// all the time. At every step that changes the disk (<see cref="InboxLogOptions.Step"/>: a frame, a
/// segment started, heads written, each rename of a deletion) the files are copied, as a crash at
/// that instant leaves them, and each copy is opened and checked: every device's inbox, the count,
/// and each recipient's next id. Written by an independent review, which ran 30 seeds of 400 – 500
/// steps (~30,800 crash copies); CI runs a few short seeds, MODEL_SEEDS / MODEL_STEPS run more.
/// </summary>
public sealed class InboxLogModelTests(ITestOutputHelper output)
{
    private sealed record Msg(string Body, string Device, long Timestamp);

    private sealed class Model
    {
        public Dictionary<string, long> Head = new(StringComparer.Ordinal);
        public SortedDictionary<(string, long), Msg> Live = [];

        public Model Clone() => new() { Head = new(Head, StringComparer.Ordinal), Live = new(Live) };
    }

    private static readonly string[] Recipients = ["a", "b", "c", "d"];
    private static readonly string[] Devices = ["", "", "", "d1", "d2"];

    private sealed record Snapshot(string Dir, string Label, Model Expected, int Step);

    private static void CopyState(string fromDb, string toDir)
    {
        Directory.CreateDirectory(toDir);
        string toDb = Path.Combine(toDir, "parley.db");
        foreach (string suffix in new[] { "", "-wal" })
        {
            if (File.Exists(fromDb + suffix))
            {
                File.Copy(fromDb + suffix, toDb + suffix, overwrite: true);
            }
        }
        string fromLog = SqliteMessageStore.InboxLogDirectory(fromDb);
        string toLog = SqliteMessageStore.InboxLogDirectory(toDb);
        Directory.CreateDirectory(toLog);
        foreach (string f in Directory.GetFiles(fromLog, "*.log"))
        {
            File.Copy(f, Path.Combine(toLog, Path.GetFileName(f)), overwrite: true);
        }
    }

    private static Task<SqliteMessageStore> Open(string db, Action<string>? step = null) =>
        SqliteMessageStore.OpenAsync(db, new InboxLogOptions { SegmentBytes = 4096, Step = step }, CancellationToken.None);

    private static async Task<string?> Verify(SqliteMessageStore store, Model model)
    {
        foreach (string r in Recipients)
        {
            foreach (string device in new[] { "", "d1", "d2" })
            {
                IReadOnlyList<StoredMessage> got = await store.LoadInboxAsync(r, device, 0, 100_000, long.MaxValue, CancellationToken.None);
                string[] gotS = [.. got.Select(m => $"{m.Id}:{Encoding.UTF8.GetString(m.Body)}")];
                string[] exp = [.. model.Live.Where(kv => kv.Key.Item1 == r && (kv.Value.Device == "" || kv.Value.Device == device)).Select(kv => $"{kv.Key.Item2}:{kv.Value.Body}")];
                if (!gotS.SequenceEqual(exp))
                {
                    string[] missing = [.. exp.Except(gotS).Select(s => s.Split(':')[0])];
                    string[] extra = [.. gotS.Except(exp).Select(s => s.Split(':')[0])];
                    return $"recipient {r} device '{device}': missing [{string.Join(",", missing)}] extra [{string.Join(",", extra)}] (got {got.Count}, expected {exp.Length})";
                }
            }
        }
        if (store.StoredMessages != model.Live.Count)
        {
            return $"StoredMessages {store.StoredMessages} != {model.Live.Count}";
        }
        return null;
    }

    private static async Task<string?> VerifyNextIds(SqliteMessageStore store, Model model)
    {
        foreach (string r in Recipients)
        {
            long head = model.Head.GetValueOrDefault(r);
            CommitResult res = await store.CommitAsync([new NewMessage("s", r, 0, "t", [1], false, "", "")], [], CancellationToken.None);
            if (res.Stored[0].Id != head + 1)
            {
                return $"next id for {r} is {res.Stored[0].Id}, model head {head}";
            }
        }
        return null;
    }

    public static IEnumerable<object[]> Seeds()
    {
        int first = int.Parse(Environment.GetEnvironmentVariable("MODEL_SEED_FIRST") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        int count = int.Parse(Environment.GetEnvironmentVariable("MODEL_SEEDS") ?? "4", System.Globalization.CultureInfo.InvariantCulture);
        return Enumerable.Range(first, count).Select(s => new object[] { s });
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Random_operations_and_crashes_match_the_model(int seed)
    {
        int steps = int.Parse(Environment.GetEnvironmentVariable("MODEL_STEPS") ?? "120", System.Globalization.CultureInfo.InvariantCulture);
        string root = Path.Combine(Path.GetTempPath(), "parley-inbox-model", $"seed{seed}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        var rng = new Random(seed);
        int dirs = 0;
        string NewDir() => Path.Combine(root, $"s{dirs++}");
        string current = NewDir();
        Directory.CreateDirectory(current);
        string db = Path.Combine(current, "parley.db");
        Model model = new();
        Model expectedDuring = model;
        List<Snapshot> snapshots = [];
        List<string> log = [];
        int step = 0;
        int verified = 0;
        Dictionary<string, int> labels = [];
        string label = "";
        // The store under test copies its files at each step; the copies are opened without it.
        void Crash(string what)
        {
            string snap = NewDir();
            CopyState(db, snap);
            snapshots.Add(new Snapshot(snap, what, expectedDuring.Clone(), step));
        }
        int variant = seed % 3;
        bool import = seed % 2 == 0;
        if (import)
        {
            await (await Open(db)).DisposeAsync();
            await using (Microsoft.Data.Sqlite.SqliteConnection connection = new(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString()))
            {
                await connection.OpenAsync();
                await using Microsoft.Data.Sqlite.SqliteCommand insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO messages (recipient, sender, created_at, content_type, body, broadcast, seq, recipient_device, sender_device) VALUES ($r, 's', $c, 't', $b, 0, $q, $d, '')";
                var pr = insert.Parameters.Add("$r", Microsoft.Data.Sqlite.SqliteType.Text);
                var pc = insert.Parameters.Add("$c", Microsoft.Data.Sqlite.SqliteType.Integer);
                var pb = insert.Parameters.Add("$b", Microsoft.Data.Sqlite.SqliteType.Blob);
                var pq = insert.Parameters.Add("$q", Microsoft.Data.Sqlite.SqliteType.Integer);
                var pd = insert.Parameters.Add("$d", Microsoft.Data.Sqlite.SqliteType.Text);
                int rows = rng.Next(50, 250);
                for (int i = 0; i < rows; i++)
                {
                    string r = Recipients[rng.Next(Recipients.Length)];
                    long id = model.Head.GetValueOrDefault(r) + rng.Next(1, 4);
                    model.Head[r] = id;
                    string dev = Devices[rng.Next(Devices.Length)];
                    string body = $"{r}-{id}-legacy-" + new string('L', rng.Next(10, 40000));
                    pr.Value = r; pc.Value = 0; pb.Value = Encoding.UTF8.GetBytes(body); pq.Value = id; pd.Value = dev;
                    await insert.ExecuteNonQueryAsync();
                    model.Live[(r, id)] = new Msg(body, dev, 0);
                }
                insert.Parameters.Clear();
                foreach (string r in Recipients)
                {
                    if (rng.Next(2) == 0)
                    {
                        long head = model.Head.GetValueOrDefault(r) + rng.Next(0, 5);
                        model.Head[r] = head;
                        insert.CommandText = $"INSERT INTO inbox_heads (recipient, last_seq) VALUES ('{r}', {head}) ON CONFLICT (recipient) DO UPDATE SET last_seq = excluded.last_seq";
                        await insert.ExecuteNonQueryAsync();
                    }
                }
            }
            expectedDuring = model;
            step = -1;
            log.Add($"import {model.Live.Count} legacy rows");
        }
        SqliteMessageStore store = await Open(db, Crash);
        if (import)
        {
            foreach (Snapshot s in snapshots)
            {
                string vdir = NewDir();
                CopyState(Path.Combine(s.Dir, "parley.db"), vdir);
                string sdb = Path.Combine(vdir, "parley.db");
                string? problem;
                await using (SqliteMessageStore reopened = await Open(sdb))
                {
                    problem = await Verify(reopened, s.Expected) ?? await VerifyNextIds(reopened, s.Expected);
                }
                verified++;
                if (problem is not null)
                {
                    Fail($"crash snapshot during import at '{s.Label}': {problem}");
                }
            }
        }
        try
        {
            for (step = 0; step < steps; step++)
            {
                snapshots.Clear();
                int op = rng.Next(100);
                if (variant == 2 && op >= 70 && op < 88) { op = rng.Next(2) == 0 ? 80 : op; }
                Model after = model.Clone();
                if (op < 70)
                {
                    int n = rng.Next(0, 4);
                    List<NewMessage> msgs = [];
                    List<long> predicted = [];
                    for (int i = 0; i < n; i++)
                    {
                        string r = Recipients[rng.Next(Recipients.Length)];
                        string dev = Devices[rng.Next(Devices.Length)];
                        int len = rng.Next(10) == 0 ? rng.Next(2000, 6000) : rng.Next(10, 400);
                        long id = after.Head.GetValueOrDefault(r) + 1;
                        after.Head[r] = id;
                        predicted.Add(id);
                        string body = $"{r}-{id}-{step}-" + new string((char)('a' + rng.Next(26)), len);
                        msgs.Add(new NewMessage("s", r, step, "t", Encoding.UTF8.GetBytes(body), false, dev, ""));
                        after.Live[(r, id)] = new Msg(body, dev, step);
                    }
                    List<InboxAck> acks = [];
                    int k = variant == 0 ? (rng.Next(3) == 0 ? rng.Next(0, 5) : 0) : rng.Next(0, 5);
                    var liveBefore = model.Live.Keys.ToList();
                    for (int i = 0; i < k; i++)
                    {
                        string r;
                        long id;
                        if (liveBefore.Count > 0 && rng.Next(4) != 0)
                        {
                            // Mostly the oldest few, sometimes any.
                            int at = variant == 2 || rng.Next(3) == 0 ? rng.Next(liveBefore.Count) : rng.Next(Math.Min(3, liveBefore.Count));
                            (r, id) = liveBefore[at];
                        }
                        else
                        {
                            r = Recipients[rng.Next(Recipients.Length)];
                            id = rng.NextInt64(1, model.Head.GetValueOrDefault(r) + 2);
                        }
                        string ackDev = rng.Next(3) == 0 ? "" : model.Live.TryGetValue((r, id), out Msg? mm) ? mm.Device : "d1";
                        acks.Add(new InboxAck(r, ackDev, id));
                        if (model.Live.TryGetValue((r, id), out Msg? m) && (m.Device == "" || m.Device == ackDev))
                        {
                            after.Live.Remove((r, id));
                        }
                    }
                    label = $"commit {string.Join(",", msgs.Select(m => m.Recipient + "/" + m.RecipientDevice + "/" + m.Body.Length))} ack {string.Join(",", acks.Select(a => $"{a.Recipient}#{a.Id}/{a.Device}"))}";
                    expectedDuring = after;
                    CommitResult res = await store.CommitAsync(msgs, acks, CancellationToken.None);
                    for (int i = 0; i < msgs.Count; i++)
                    {
                        if (res.Stored[i].Id != predicted[i])
                        {
                            Fail($"live commit at step {step} gave id {res.Stored[i].Id}, model {predicted[i]}");
                        }
                    }
                }
                else if (op < 73)
                {
                    long before = rng.Next(0, step + 1) / 2;
                    label = $"expire before {before}";
                    foreach (var kv in model.Live)
                    {
                        if (kv.Value.Timestamp < before || kv.Value.Device != "")
                        {
                            after.Live.Remove(kv.Key);
                        }
                    }
                    expectedDuring = after;
                    await store.DeleteExpiredAsync(before, CancellationToken.None);
                }
                else if (op < 88)
                {
                    label = "checkpoint";
                    expectedDuring = after;
                    await store.CheckpointAsync(CancellationToken.None);
                }
                else if (op < 93)
                {
                    label = "reopen";
                    await store.DisposeAsync();
                    store = await Open(db, Crash);
                }
                else
                {
                    label = "noop";
                }
                model = after;
                log.Add($"{step}: {label}");
                // The state at the end of the op is a crash point too.
                string end = NewDir();
                CopyState(db, end);
                snapshots.Add(new Snapshot(end, "end", model.Clone(), step));
                string? live = await Verify(store, model);
                if (live is not null)
                {
                    Fail($"live store after step {step}: {live}");
                }
                foreach (Snapshot s in snapshots)
                {
                    string vdir = NewDir();
                    CopyState(Path.Combine(s.Dir, "parley.db"), vdir);
                    string sdb = Path.Combine(vdir, "parley.db");
                    string? problem;
                    await using (SqliteMessageStore reopened = await OpenNoHook(sdb))
                    {
                        problem = await Verify(reopened, s.Expected) ?? await VerifyNextIds(reopened, s.Expected);
                    }
                    verified++;
                    string key = s.Label.Split(' ')[0];
                    labels[key] = labels.GetValueOrDefault(key) + 1;
                    Directory.Delete(vdir, true);
                    if (problem is not null)
                    {
                        Fail($"crash snapshot at step {s.Step} point '{s.Label}': {problem}");
                    }
                }
                // Sometimes go on from a crash at one of this step's points.
                if (snapshots.Count > 1 && rng.Next(6) == 0)
                {
                    Snapshot s = snapshots[rng.Next(snapshots.Count)];
                    await store.DisposeAsync();
                    string next = NewDir();
                    CopyState(Path.Combine(s.Dir, "parley.db"), next);
                    current = next;
                    db = Path.Combine(current, "parley.db");
                    model = s.Expected.Clone();
                    log.Add($"   crash at '{s.Label}', restart");
                    store = await Open(db, Crash);
                }
                foreach (Snapshot s in snapshots)
                {
                    Directory.Delete(s.Dir, true);
                }
            }
            output.WriteLine($"seed {seed}: {steps} steps, {verified} crash snapshots verified; " + string.Join(" ", labels.Select(kv => kv.Key + "=" + kv.Value)));
        }
        finally
        {
            await store.DisposeAsync();
        }
        Directory.Delete(root, true);

        void Fail(string what)
        {
            output.WriteLine(string.Join("\n", log));
            Assert.Fail($"seed {seed}: {what}");
        }
    }

    private static Task<SqliteMessageStore> OpenNoHook(string db) => Open(db);
}
