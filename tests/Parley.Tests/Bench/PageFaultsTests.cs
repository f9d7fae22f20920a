using Parley.Bench;

namespace Parley.Tests.Bench;

/// <summary>The bench's page-fault counts, read from /proc/PID/stat.</summary>
public class PageFaultsTests
{
    [Fact]
    public void Minor_and_major_faults_are_added_and_a_command_with_spaces_and_parentheses_does_not_shift_the_fields()
    {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt ...
        const string Stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1234 99 7 0 10 20 0 0 20 0 5 0 100 0 0";
        Assert.Equal(1234 + 7, PageFaults.Parse(Stat));
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242 (parley")]
    [InlineData("4242 (parley) S 1 2")]
    [InlineData("4242 (parley) S 1 4242 4242 0 -1 4194560 x 99 7 0")]
    public void A_line_that_is_not_a_stat_line_gives_no_count(string stat) => Assert.Null(PageFaults.Parse(stat));

    [Fact]
    public void This_process_has_taken_page_faults_and_a_process_that_does_not_exist_has_no_count()
    {
        Assert.True(PageFaults.Of(null) > 0);
        Assert.True(PageFaults.Of(Environment.ProcessId) > 0);
        Assert.Null(PageFaults.Of(int.MaxValue));
    }
}
