// What the nodes sharing one store must agree on: the tables they keep in step. A node of another
// layout running beside them changes the same rows without what its layout adds, and the store
// drifts for good (decision 0033: an older node completes and deletes files without the running
// totals, which then shut an inbox or let files past the bounds). So a node records its layout on
// the bus and will not start beside a live node of another one (decision 0036).
namespace Parley.Server.Storage;

public static class StoreLayout
{
    /// <summary>
    /// 2: the running file totals (0033). 1, or no number on the bus: before them. Raised by any
    /// change that nodes of the old and the new layout cannot make to one store side by side.
    /// </summary>
    public const int Version = 2;
}
