// The address range that holds the garbage collector's heap, read from /proc/self/maps: the run of
// adjacent anonymous mappings around an object on the heap. With regions (.NET 7 onwards) the
// collector reserves one large range (twice the machine's memory), split into committed (rw-p)
// and reserved (---p) mappings as it commits and decommits. The runtime does not say where it is,
// and the map cannot tell it from anonymous mappings that happen to lie next to it (malloc's
// arenas, other runtime reservations: ~760 MiB of 49 GiB in one process here), so the run
// includes those.
using System.Globalization;
using System.Runtime.InteropServices;

namespace Parley.Bench;

internal sealed record HeapReservation(ulong Start, ulong End, IReadOnlyList<HeapReservation.Mapping> Writable)
{
    public long Length => (long)(End - Start);

    /// <summary>This process's heap reservation, or null where /proc cannot tell (not Linux, unreadable).</summary>
    public static HeapReservation? Find()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            return Parse(File.ReadLines("/proc/self/maps"), AddressOnHeap());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The run of adjacent anonymous mappings (committed or only reserved) that holds
    /// <paramref name="address"/>, from /proc/PID/maps lines, with its readable and writable parts;
    /// null when the address is in none, or in a mapping backed by a file or named by the kernel.
    /// </summary>
    internal static HeapReservation? Parse(IEnumerable<string> maps, ulong address)
    {
        List<Mapping> run = [];
        bool holdsAddress = false;
        foreach (string line in maps)
        {
            if (Mapping.TryParse(line) is not { } mapping)
            {
                continue;
            }
            bool continues = mapping.Anonymous && run.Count > 0 && mapping.Start == run[^1].End;
            if (!continues)
            {
                if (holdsAddress)
                {
                    break;
                }
                run.Clear();
                if (!mapping.Anonymous)
                {
                    continue;
                }
            }
            run.Add(mapping);
            holdsAddress |= address >= mapping.Start && address < mapping.End;
        }
        return holdsAddress ? new HeapReservation(run[0].Start, run[^1].End, [.. run.Where(m => m.Writable)]) : null;
    }

    /// <summary>Where a fresh small object lives: only a number to look up in the map, read while the object is pinned.</summary>
    private static ulong AddressOnHeap()
    {
        byte[] probe = new byte[64];
        GCHandle pin = GCHandle.Alloc(probe, GCHandleType.Pinned);
        try
        {
            return (ulong)pin.AddrOfPinnedObject();
        }
        finally
        {
            pin.Free();
        }
    }

    /// <summary>One line of /proc/PID/maps: "start-end perms offset dev inode [path]".</summary>
    internal sealed record Mapping(ulong Start, ulong End, bool Writable, bool Anonymous)
    {
        public long Length => (long)(End - Start);

        public static Mapping? TryParse(string line)
        {
            string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5)
            {
                return null;
            }
            int dash = fields[0].IndexOf('-');
            if (dash <= 0
                || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong end)
                || end <= start || fields[1].Length < 2)
            {
                return null;
            }
            bool anonymous = fields[4] == "0" && (fields.Length == 5 || string.IsNullOrWhiteSpace(fields[5]));
            return new Mapping(start, end, Writable: fields[1][0] == 'r' && fields[1][1] == 'w', anonymous);
        }
    }
}
