using System.Runtime.InteropServices;
using Parley.Bench;

namespace Parley.Tests.Bench;

/// <summary>The generator's heap reservation, read from /proc/self/maps, and the page requests made on it before a storm.</summary>
public class HeapPagesTests
{
    // A collector's reservation split by commits, between a file mapping and the kernel's [heap].
    private static readonly string[] Maps =
    [
        "55d0c0000000-55d0c0021000 r-xp 00000000 08:01 1048601                    /usr/bin/dotnet",
        "55d0c0021000-55d0c0042000 rw-p 00000000 00:00 0                          [heap]",
        "7f8d00000000-7f8d00400000 rw-p 00000000 00:00 0 ",
        "7f8d00400000-7f8d10000000 ---p 00000000 00:00 0",
        "7f8d10000000-7f8d10200000 rw-p 00000000 00:00 0",
        "7f8d10200000-7f8e00000000 ---p 00000000 00:00 0",
        "7f8e00000000-7f8e00100000 r--p 00000000 08:01 2097153                    /usr/lib/libc.so.6",
        "7f8e00100000-7f8e00200000 rw-p 00000000 00:00 0",
    ];

    [Fact]
    public void The_reservation_is_the_run_of_adjacent_anonymous_mappings_around_the_address_with_its_writable_parts()
    {
        HeapReservation reservation = Assert.IsType<HeapReservation>(HeapReservation.Parse(Maps, 0x7f8d10000040));
        Assert.Equal((0x7f8d00000000UL, 0x7f8e00000000UL), (reservation.Start, reservation.End));
        Assert.Equal([(0x7f8d00000000UL, 0x7f8d00400000UL), (0x7f8d10000000UL, 0x7f8d10200000UL)],
            reservation.Writable.Select(m => (m.Start, m.End)));
        Assert.Equal(0x400000 + 0x200000, reservation.Writable.Sum(m => m.Length));
    }

    [Fact]
    public void An_address_in_a_reserved_part_finds_the_same_run_and_one_after_a_file_mapping_starts_a_new_one()
    {
        Assert.Equal(0x7f8d00000000UL, HeapReservation.Parse(Maps, 0x7f8dffffffff)?.Start);
        Assert.Equal((0x7f8e00100000UL, 0x7f8e00200000UL), HeapReservation.Parse(Maps, 0x7f8e00100000) is { } after ? (after.Start, after.End) : default);
    }

    [Theory]
    [InlineData(0x55d0c0000010UL)] // the executable's file mapping
    [InlineData(0x55d0c0021010UL)] // named by the kernel
    [InlineData(0x7f8e00000010UL)] // a library
    [InlineData(0x7f8f00000000UL)] // nothing mapped there
    public void An_address_outside_any_anonymous_run_finds_nothing(ulong address) => Assert.Null(HeapReservation.Parse(Maps, address));

    [Theory]
    [InlineData("")]
    [InlineData("not a maps line at all")]
    [InlineData("7f8d00400000-7f8d00000000 rw-p 00000000 00:00 0")] // ends before it starts
    [InlineData("zz-7f8d00000000 rw-p 00000000 00:00 0")]
    public void A_line_that_is_not_a_mapping_is_skipped(string line) => Assert.Null(HeapReservation.Mapping.TryParse(line));

    [Fact]
    public void In_this_process_the_reservation_holds_a_fresh_object_and_its_committed_memory_can_be_faulted_in()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(HeapReservation.Find());
            Assert.Equal(0, HeapPages.Populate(long.MaxValue).PopulatedBytes);
            Assert.Equal(0, HeapPages.AdviseHuge());
            return;
        }
        byte[] probe = new byte[100];
        GCHandle pin = GCHandle.Alloc(probe, GCHandleType.Pinned);
        try
        {
            ulong address = (ulong)pin.AddrOfPinnedObject();
            HeapReservation reservation = Assert.IsType<HeapReservation>(HeapReservation.Find());
            Assert.InRange(address, reservation.Start, reservation.End - 1);
            Assert.Contains(reservation.Writable, m => address >= m.Start && address < m.End);
            // The collector reserves far more than it commits (regions: twice the machine's memory by default).
            Assert.True(reservation.Length > reservation.Writable.Sum(m => m.Length), $"{reservation.Length} reserved");
        }
        finally
        {
            pin.Free();
        }
        // More than the limit allows: nothing is touched.
        HeapPages.Prefault over = HeapPages.Populate(limit: 0);
        Assert.True(over.OverLimit && over.PopulatedBytes == 0 && over.CommittedBytes > 0, over.ToString());
        // Under it, the committed mappings are faulted in; a kernel before 5.14 says it cannot.
        HeapPages.Prefault done = HeapPages.Populate(long.MaxValue);
        Assert.False(done.OverLimit);
        Assert.True(done.Unsupported || done.PopulatedBytes > 0, done.ToString());
        // Huge pages are refused only where the kernel has none or its policy is "never".
        string policy = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (File.Exists(policy) && !File.ReadAllText(policy).Contains("[never]", StringComparison.Ordinal))
        {
            Assert.True(HeapPages.AdviseHuge() > 0);
        }
    }
}
