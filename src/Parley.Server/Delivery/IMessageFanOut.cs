using Parley.Server.Storage;

namespace Parley.Server.Delivery;

/// <summary>
/// Where a message goes once committed: to its recipient's live connection, if any. Local
/// presence today; a bus between servers can implement the same seam later.
/// </summary>
public interface IMessageFanOut
{
    /// <summary>Called after commit, in id order; true when the message reached an online recipient.</summary>
    bool TryDeliver(StoredMessage message);
}
