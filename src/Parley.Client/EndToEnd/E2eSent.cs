namespace Parley.Client.EndToEnd;

/// <summary>
/// What an end-to-end send did: the recipient's devices it was encrypted to (each copy committed
/// by the server before this returns), and whether at least one of them was online.
/// </summary>
public readonly record struct E2eSent(int RecipientDevices, bool Delivered)
{
    /// <summary>The id the payload carried (§13.10), which the recipient's receipts will name; null for a receipt.</summary>
    public E2eMessageId? MessageId { get; init; }

    /// <summary>Devices (of the recipient or of our own account) this send found and started a session with: tell the user.</summary>
    public IReadOnlyList<PeerDevice> NewDevices { get; init; } = [];

    /// <summary>Devices the server no longer lists (revoked or gone): their sessions were deleted.</summary>
    public IReadOnlyList<PeerDevice> RemovedDevices { get; init; } = [];

    /// <summary>Equal when the counts and the device lists are (lists compared by content, not by instance).</summary>
    public bool Equals(E2eSent other) =>
        RecipientDevices == other.RecipientDevices && Delivered == other.Delivered
        && NewDevices.SequenceEqual(other.NewDevices) && RemovedDevices.SequenceEqual(other.RemovedDevices);

    public override int GetHashCode() => HashCode.Combine(RecipientDevices, Delivered, NewDevices.Count, RemovedDevices.Count);
}

/// <summary>One device of one user, as the server names it.</summary>
public readonly record struct PeerDevice(string User, string DeviceId);
