using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Parley.Server.Delivery;

namespace Parley.Benchmarks;

/// <summary>
/// One page of `list` (128 names) with 10,000 users online: the sorted names kept as users come and
/// go (SortedNames, since 2026-12-07) against what each page cost before (every name online copied,
/// filtered and sorted, kept here only as the reference), and the price that moved to logins: one
/// arrival and departure in the sorted names.
/// </summary>
[MemoryDiagnoser]
public class ListPageBenchmarks
{
    private const int Page = 128;
    private readonly ConcurrentDictionary<string, object> _online = new(StringComparer.Ordinal);
    private readonly SortedNames _sorted = new();
    private string _middle = "";

    [Params(10_000)]
    public int Online { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Random random = new(7);
        for (int i = 0; i < Online; i++)
        {
            string name = "user-" + random.Next().ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            _online[name] = new object();
            _sorted.Add(name);
        }
        _middle = _sorted.All()[Online / 2];
    }

    [Benchmark(Baseline = true)]
    public string[] FirstPageByScanAndSort() => ScanAndSort(null);

    [Benchmark]
    public string[] FirstPageFromSortedNames() => _sorted.After(null, Page).Names;

    [Benchmark]
    public string[] MiddlePageByScanAndSort() => ScanAndSort(_middle);

    [Benchmark]
    public string[] MiddlePageFromSortedNames() => _sorted.After(_middle, Page).Names;

    [Benchmark]
    public void ArrivalAndDepartureInSortedNames()
    {
        _sorted.Add("aaaa-new"); // sorts first: the whole array moves, the worst case
        _sorted.Remove("aaaa-new");
    }

    // Presence.OnlineUsersAfter before SortedNames.
    private string[] ScanAndSort(string? after)
    {
        List<string> users = [];
        foreach (string user in _online.Keys)
        {
            if (after is null || string.CompareOrdinal(user, after) > 0)
            {
                users.Add(user);
            }
        }
        users.Sort(StringComparer.Ordinal);
        return users.Count > Page ? [.. users.Take(Page)] : [.. users];
    }
}
