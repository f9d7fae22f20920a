// File requests (PROTOCOL.md §11.8) on the client. Chunks of one upload all carry the upload's
// ref, so they need no reply each: a refusal names that ref and is kept for the sender to see
// before its next chunk. A download is a window of chunks under one ref, delivered by the reader
// loop into a channel that holds no more than the window asked for.
using System.Collections.Concurrent;
using System.Threading.Channels;
using Parley.Messaging;

namespace Parley.Client;

public sealed partial class ChatClient
{
    private readonly ConcurrentDictionary<long, UploadChannel> _uploads = new();
    private readonly ConcurrentDictionary<long, Channel<FileData>> _downloads = new();

    /// <summary>Starts an upload of <paramref name="size"/> ciphertext bytes for <paramref name="to"/>; the server names the file.</summary>
    public async Task<FileUploadState> BeginUploadAsync(IReadOnlyCollection<string> to, long size, int chunkSize, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (FileUploadState)await RequestAsync(reference, new FileUploadBeginRequest(reference, [.. to], size, chunkSize), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where an upload of ours stands (chunks held); <c>unknown_file</c> once it expired or was never ours.</summary>
    public async Task<FileUploadState> UploadStateAsync(string fileId, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (FileUploadState)await RequestAsync(reference, new FileUploadBeginRequest(reference, FileId: fileId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a channel for sending the chunks of one upload (one ref for all of them).</summary>
    public UploadChannel OpenUpload(string fileId)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        UploadChannel upload = new(this, reference, fileId);
        _uploads[reference] = upload;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _ended) is ChatConnectionException ended)
        {
            upload.Fail(ended);
        }
        return upload;
    }

    internal void CloseUpload(long reference) => _uploads.TryRemove(reference, out _);

    internal ValueTask SendChunkAsync(long reference, string fileId, long index, byte[] body, CancellationToken cancellationToken) =>
        SendAsync(new FileChunkRequest(reference, fileId, index, body), cancellationToken);

    /// <summary>Every chunk was sent: the server commits the file (or says <c>file_incomplete</c> with what it holds).</summary>
    public async Task<FileUploaded> EndUploadAsync(string fileId, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (FileUploaded)await RequestAsync(reference, new FileUploadEndRequest(reference, fileId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks for up to <paramref name="count"/> chunks from <paramref name="fromChunk"/> and yields them
    /// in order as they arrive; a refusal (<c>unknown_file</c>) is thrown as a <see cref="ChatException"/>.
    /// </summary>
    public async IAsyncEnumerable<FileData> DownloadAsync(string fileId, long fromChunk, int count,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        Channel<FileData> chunks = Channel.CreateBounded<FileData>(new BoundedChannelOptions(Math.Max(1, count)) { SingleReader = true, SingleWriter = true });
        _downloads[reference] = chunks;
        try
        {
            // Registered after the read loop failed the transfers, nothing would ever complete it.
            // The fence orders the registration before the look (the loop sets _ended before it looks).
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _ended) is ChatConnectionException ended)
            {
                throw new ChatConnectionException(ended.Message, ended.InnerException);
            }
            await SendAsync(new FileDownloadRequest(reference, fileId, fromChunk, count), cancellationToken).ConfigureAwait(false);
            int received = 0;
            await foreach (FileData data in chunks.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return data;
                if (++received == count || data.Last)
                {
                    yield break;
                }
            }
        }
        finally
        {
            _downloads.TryRemove(reference, out _);
        }
    }

    /// <summary>This device has the file, verified: the server may forget it once every recipient device said so.</summary>
    public async Task<FileDoneResult> FileDoneAsync(string fileId, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (FileDoneResult)await RequestAsync(reference, new FileDoneRequest(reference, fileId), cancellationToken).ConfigureAwait(false);
    }

    private void DeliverFileData(FileData data)
    {
        // The window bounds what is in flight; a chunk for a download no longer listened to is dropped.
        if (_downloads.TryGetValue(data.Ref, out Channel<FileData>? chunks))
        {
            chunks.Writer.TryWrite(data);
        }
    }

    private void FailFileTransfer(long reference, ErrorMessage error)
    {
        if (_uploads.TryGetValue(reference, out UploadChannel? upload))
        {
            upload.Fail(new ChatException(error.Code, error.Message));
        }
        if (_downloads.TryRemove(reference, out Channel<FileData>? chunks))
        {
            chunks.Writer.TryComplete(new ChatException(error.Code, error.Message));
        }
    }

    private void FailFileTransfers(Exception error)
    {
        foreach (long key in _downloads.Keys)
        {
            if (_downloads.TryRemove(key, out Channel<FileData>? chunks))
            {
                chunks.Writer.TryComplete(error);
            }
        }
        foreach (UploadChannel upload in _uploads.Values)
        {
            upload.Fail(error);
        }
    }
}

/// <summary>The chunks of one upload, sent under one ref; a refusal of any of them is thrown by the next <see cref="SendAsync"/>.</summary>
public sealed class UploadChannel : IDisposable
{
    private readonly ChatClient _client;
    private readonly long _reference;
    private Exception? _failure;

    internal UploadChannel(ChatClient client, long reference, string fileId)
    {
        _client = client;
        _reference = reference;
        FileId = fileId;
    }

    public string FileId { get; }

    internal void Fail(Exception error) => Interlocked.CompareExchange(ref _failure, error, null);

    /// <summary>Throws what the server refused (or why the connection ended) since the last call.</summary>
    public void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Sends one chunk; the body is encoded before this returns, so the caller may reuse its buffer.</summary>
    public async ValueTask SendAsync(long index, byte[] body, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        await _client.SendChunkAsync(_reference, FileId, index, body, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _client.CloseUpload(_reference);
}
