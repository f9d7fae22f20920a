namespace Parley.Server.Storage;

/// <summary>
/// The store could not be reached (a database server down, a connection refused or cut): nothing
/// of the operation was committed. An <see cref="IOException"/>, so every path that already
/// answers a failed write without acknowledging it handles this one too; the server answers
/// <c>storage_unavailable</c> where it can tell the two apart.
/// </summary>
public sealed class StorageUnavailableException(string message, Exception inner) : IOException(message, inner);
