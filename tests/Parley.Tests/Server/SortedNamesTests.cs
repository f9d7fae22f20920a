using Parley.Server.Delivery;

namespace Parley.Tests.Server;

/// <summary>
/// The sorted names behind `list` (a page is a binary search and one page's copy): every page,
/// after any mix of arrivals and departures, is what sorting the names online would give.
/// </summary>
public sealed class SortedNamesTests
{
    [Fact]
    public void Pages_match_sorting_the_names_online_after_random_arrivals_and_departures()
    {
        Random random = new(20261207);
        SortedNames names = new();
        SortedSet<string> model = new(StringComparer.Ordinal);
        for (int step = 0; step < 5_000; step++)
        {
            string name = "u" + random.Next(400).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (random.Next(3) == 0)
            {
                names.Remove(name);
                model.Remove(name);
            }
            else
            {
                names.Add(name);
                model.Add(name);
            }
            if (step % 97 == 0)
            {
                AssertPagesMatch(names, model, random.Next(1, 40));
            }
        }
        Assert.Equal(model.Count, names.Count);
        Assert.Equal(model, names.All());
    }

    [Fact]
    public void A_page_after_a_name_that_is_not_online_starts_at_the_next_one()
    {
        SortedNames names = new();
        foreach (string name in new[] { "carol", "alice", "erin", "bob" })
        {
            names.Add(name);
        }
        AssertPage(names.After("bz", 5), false, "carol", "erin");
        AssertPage(names.After(null, 2), true, "alice", "bob");
        AssertPage(names.After("carol", 1), false, "erin");
        AssertPage(names.After("erin", 10), false);
        AssertPage(names.After("zed", 10), false);
        // Ordinal, as before: upper case sorts before lower case.
        names.Add("Zoe");
        Assert.Equal("Zoe", names.All()[0]);
    }

    private static void AssertPagesMatch(SortedNames names, SortedSet<string> model, int pageSize)
    {
        string? after = null;
        List<string> walked = [];
        while (true)
        {
            (string[] page, bool more) = names.After(after, pageSize);
            string[] expected = [.. model.Where(n => after is null || string.CompareOrdinal(n, after) > 0).Take(pageSize)];
            Assert.Equal(expected, page);
            walked.AddRange(page);
            Assert.Equal(walked.Count < model.Count, more);
            if (!more)
            {
                break;
            }
            after = page[^1];
        }
        Assert.Equal(model, walked);
    }

    private static void AssertPage((string[] Names, bool More) page, bool more, params string[] expected)
    {
        Assert.Equal(expected, page.Names);
        Assert.Equal(more, page.More);
    }
}
