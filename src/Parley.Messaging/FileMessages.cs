// File transfer requests (PROTOCOL.md §11.8). The server stores a file's chunks as opaque
// ciphertext (the key travels end to end inside the offer, §15) and hands them to the recipients
// named at the start of the upload, a window at a time, until each of their devices says it has
// the file or it expires. Ids are the server's: 32 lower-case hex digits.
namespace Parley.Messaging;

/// <summary>
/// Starts an upload of <paramref name="Size"/> ciphertext bytes in chunks of <paramref name="ChunkSize"/>
/// (all but the last) for <paramref name="To"/>; or, with <paramref name="FileId"/> set (and nothing
/// else needed), asks how far an upload of ours got, to resume it.
/// </summary>
public sealed record FileUploadBeginRequest(long Ref, string[]? To = null, long Size = 0, int ChunkSize = 0, string? FileId = null) : ClientMessage;

/// <summary>The upload's id and how many chunks, from index 0, the server holds; <paramref name="Complete"/> once <c>file_upload_end</c> committed.</summary>
public sealed record FileUploadState(long Ref, string FileId, long Received, long ChunkCount, bool Complete) : ServerMessage;

/// <summary>Chunk <paramref name="Index"/> of an upload; no reply unless it is refused (an <c>error</c> with this ref).</summary>
public sealed record FileChunkRequest(long Ref, string FileId, long Index, byte[] Body) : ClientMessage
{
    public override string ToString() => $"FileChunkRequest(ref {Ref}, {FileId}, chunk {Index}, {Body?.Length} bytes)";
}

/// <summary>Every chunk was sent: the server checks it has them all and commits the file for its recipients.</summary>
public sealed record FileUploadEndRequest(long Ref, string FileId) : ClientMessage;

/// <summary>The file is stored for <paramref name="Devices"/> devices of its recipients.</summary>
public sealed record FileUploaded(long Ref, string FileId, int Devices) : ServerMessage;

/// <summary>Asks for chunks <paramref name="FromChunk"/> onwards, at most <paramref name="Count"/> of them (a window: the next request is the flow control).</summary>
public sealed record FileDownloadRequest(long Ref, string FileId, long FromChunk, int Count) : ClientMessage;

/// <summary>One chunk of a download; <paramref name="Last"/> marks the file's last chunk.</summary>
public sealed record FileData(long Ref, string FileId, long Index, byte[] Body, bool Last, long ChunkCount) : ServerMessage
{
    public override string ToString() => $"FileData(ref {Ref}, {FileId}, chunk {Index}/{ChunkCount}, {Body?.Length} bytes)";
}

/// <summary>This device has the file (verified); the server forgets it once every recipient device has said so.</summary>
public sealed record FileDoneRequest(long Ref, string FileId) : ClientMessage;

public sealed record FileDoneResult(long Ref, string FileId, bool Deleted) : ServerMessage;
