// The device's file transfers (unfinished uploads, received offers: both hold file keys) live in
// the device database too, sealed like every other row, on a connection of their own.
using Parley.Client.Files;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDeviceDatabase
{
    /// <summary>
    /// The file records of this device, on their own connection to this database (parley chat's
    /// transfers run beside its message handling); the caller disposes them.
    /// </summary>
    public SealedFileRecords OpenFileRecords() => new(Path, _user, _key);
}
