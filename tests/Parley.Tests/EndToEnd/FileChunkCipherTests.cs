using System.Security.Cryptography;
using Parley.EndToEnd;
using Parley.EndToEnd.Files;

namespace Parley.Tests.EndToEnd;

/// <summary>PROTOCOL.md §15: chunks cannot be altered, reordered, swapped between files, cut short or lengthened; offers are read strictly.</summary>
public class FileChunkCipherTests
{
    private const int ChunkSize = 1024;

    private static (FileKey Key, FileId Id, FileLayout Layout, byte[] Plaintext, byte[][] Chunks) EncryptFile(int size)
    {
        FileKey key = FileKey.Generate();
        FileId id = FileId.New();
        FileLayout layout = new(size, ChunkSize);
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);
        using FileChunkCipher cipher = new(key, id, layout);
        byte[][] chunks = new byte[layout.ChunkCount][];
        for (long i = 0; i < layout.ChunkCount; i++)
        {
            chunks[i] = new byte[layout.CiphertextLength(i)];
            cipher.Encrypt(i, plaintext.AsSpan((int)layout.Offset(i), layout.PlaintextLength(i)), chunks[i]);
        }
        return (key, id, layout, plaintext, chunks);
    }

    private static void AssertRefused(FileChunkCipher cipher, long index, byte[] chunk)
    {
        byte[] output = new byte[ChunkSize];
        E2eProtocolException refused = Assert.Throws<E2eProtocolException>(() => cipher.Decrypt(index, chunk, output));
        Assert.Equal(E2eError.DecryptionFailed, refused.Error);
        Assert.All(output, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Every_chunk_decrypts_back_to_the_file()
    {
        (FileKey key, FileId id, FileLayout layout, byte[] plaintext, byte[][] chunks) = EncryptFile(5 * ChunkSize + 17);
        using FileKey ownedKey = key;
        using FileChunkCipher cipher = new(key, id, layout);
        using MemoryStream back = new();
        byte[] buffer = new byte[ChunkSize];
        for (long i = 0; i < layout.ChunkCount; i++)
        {
            back.Write(buffer, 0, cipher.Decrypt(i, chunks[i], buffer));
        }
        Assert.Equal(plaintext, back.ToArray());
        Assert.Equal(layout.CiphertextSize, chunks.Sum(c => (long)c.Length));
    }

    [Fact]
    public void A_flipped_bit_anywhere_in_a_chunk_is_refused()
    {
        (FileKey key, FileId id, FileLayout layout, _, byte[][] chunks) = EncryptFile(3 * ChunkSize);
        using FileKey ownedKey = key;
        using FileChunkCipher cipher = new(key, id, layout);
        foreach (int at in new[] { 0, 500, chunks[1].Length - 1 })
        {
            byte[] tampered = (byte[])chunks[1].Clone();
            tampered[at] ^= 0x01;
            AssertRefused(cipher, 1, tampered);
        }
    }

    [Fact]
    public void Chunks_in_another_place_or_from_another_file_are_refused()
    {
        (FileKey key, FileId id, FileLayout layout, _, byte[][] chunks) = EncryptFile(4 * ChunkSize);
        using FileKey ownedKey = key;
        using FileChunkCipher cipher = new(key, id, layout);
        AssertRefused(cipher, 2, chunks[1]);
        AssertRefused(cipher, 1, chunks[2]);

        // The same key under another file id (as if a chunk were moved between two uploads): refused.
        using FileChunkCipher otherId = new(key, FileId.New(), layout);
        AssertRefused(otherId, 1, chunks[1]);
        (FileKey otherKey, FileId otherFileId, FileLayout otherLayout, _, byte[][] otherChunks) = EncryptFile(4 * ChunkSize);
        using FileKey ownedOtherKey = otherKey;
        AssertRefused(cipher, 1, otherChunks[1]);
    }

    [Fact]
    public void A_file_cut_short_or_lengthened_does_not_authenticate()
    {
        (FileKey key, FileId id, FileLayout layout, _, byte[][] chunks) = EncryptFile(4 * ChunkSize);
        using FileKey ownedKey = key;
        // Cut after chunk 2: read as a 3-chunk file, chunk 2 is now "last" and its AD differs.
        using FileChunkCipher shorter = new(key, id, new FileLayout(3 * ChunkSize, ChunkSize));
        AssertRefused(shorter, 2, chunks[2]);
        // Lengthened: as a 5-chunk file, the real last chunk is no longer last.
        using FileChunkCipher longer = new(key, id, new FileLayout(5 * ChunkSize, ChunkSize));
        AssertRefused(longer, 3, chunks[3]);
        // An index past the end, and a chunk of the wrong length, never reach the AEAD.
        using FileChunkCipher cipher = new(key, id, layout);
        AssertRefused(cipher, 4, chunks[3]);
        AssertRefused(cipher, 3, chunks[3][..^1]);
    }

    [Fact]
    public void An_empty_file_is_one_authenticated_empty_chunk()
    {
        (FileKey key, FileId id, FileLayout layout, _, byte[][] chunks) = EncryptFile(0);
        using FileKey ownedKey = key;
        Assert.Equal((1L, 16), (layout.ChunkCount, chunks[0].Length));
        using FileChunkCipher cipher = new(key, id, layout);
        Assert.Equal(0, cipher.Decrypt(0, chunks[0], new byte[1]));
    }

    [Fact]
    public void An_offer_reads_back_and_malformed_ones_are_refused()
    {
        FileLayout layout = new(10_000, ChunkSize);
        using FileOffer offer = new(FileId.New(), layout, FileKey.Generate(), new byte[32], "naïve report.pdf", "application/pdf");
        byte[] encoded = offer.Encode();
        using (FileOffer back = FileOffer.Decode(encoded))
        {
            Assert.Equal((offer.FileId, offer.Name, offer.ContentType, offer.Layout), (back.FileId, back.Name, back.ContentType, back.Layout));
            Assert.Equal(offer.Key.Export(), back.Key.Export());
        }
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => FileOffer.Decode([.. encoded, 0])).Error);
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => FileOffer.Decode(encoded[..^1])).Error);
        byte[] badVersion = (byte[])encoded.Clone();
        badVersion[0] = 2;
        Assert.Equal(E2eError.UnsupportedVersion, Assert.Throws<E2eProtocolException>(() => FileOffer.Decode(badVersion)).Error);
        byte[] tinyChunks = (byte[])encoded.Clone();
        tinyChunks[1 + 16 + 8 + 2] = 0;
        tinyChunks[1 + 16 + 8 + 3] = 1;
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => FileOffer.Decode(tinyChunks)).Error);
        byte[] badName = (byte[])encoded.Clone();
        badName[1 + 16 + 8 + 4 + 32 + 32 + 2] = 0xff;
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => FileOffer.Decode(badName)).Error);
    }
}
