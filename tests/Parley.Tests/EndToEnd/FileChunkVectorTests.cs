using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Parley.EndToEnd.Files;
using Parley.Tests.Support;

namespace Parley.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md §15.3: the chunk cipher's and the offer's vectors, printed in the document and
/// computed independently with python3's cryptography (AESGCM), are what the code produces.
/// </summary>
public partial class FileChunkVectorTests
{
    private static byte[] Range(int start, int count) => Enumerable.Range(start, count).Select(i => (byte)i).ToArray();

    internal static Dictionary<string, string> Compute()
    {
        Dictionary<string, string> values = [];
        using FileKey key = FileKey.Import(Range(0x00, 32));
        FileId id = FileId.FromBytes(Range(0xa0, 16));
        byte[] plaintext = Enumerable.Range(0, 2500).Select(j => (byte)(j % 251)).ToArray();
        values["file_plaintext_sha256"] = Convert.ToHexStringLower(SHA256.HashData(plaintext));
        FileLayout layout = new(plaintext.Length, 1024);
        using (FileChunkCipher cipher = new(key, id, layout))
        {
            for (long i = 0; i < layout.ChunkCount; i++)
            {
                byte[] chunk = new byte[layout.CiphertextLength(i)];
                cipher.Encrypt(i, plaintext.AsSpan((int)layout.Offset(i), layout.PlaintextLength(i)), chunk);
                byte[] nonce = new byte[12];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(nonce.AsSpan(4), (ulong)i);
                byte[] ad = [.. "Parley_File_v1"u8.ToArray(), .. id.Bytes.ToArray(), .. nonce.AsSpan(4).ToArray(), (byte)(layout.IsLast(i) ? 1 : 0)];
                values[$"file_chunk{i}_nonce"] = Convert.ToHexStringLower(nonce);
                values[$"file_chunk{i}_ad"] = Convert.ToHexStringLower(ad);
                values[$"file_chunk{i}_tag"] = Convert.ToHexStringLower(chunk.AsSpan(chunk.Length - 16));
                values[$"file_chunk{i}_ciphertext_sha256"] = Convert.ToHexStringLower(SHA256.HashData(chunk));
            }
        }
        byte[] small = "Parley file vector!"u8.ToArray();
        FileLayout smallLayout = new(small.Length, 1024);
        using (FileChunkCipher cipher = new(key, id, smallLayout))
        {
            byte[] chunk = new byte[smallLayout.CiphertextLength(0)];
            cipher.Encrypt(0, small, chunk);
            values["file_small_ciphertext"] = Convert.ToHexStringLower(chunk);
        }
        using FileOffer offer = new(id, layout, FileKey.Import(Range(0x00, 32)), SHA256.HashData(plaintext), "report.pdf", "application/pdf");
        values["file_offer"] = Convert.ToHexStringLower(offer.Encode());
        return values;
    }

    [Fact]
    public void The_protocol_document_prints_what_the_code_computes()
    {
        string document = File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));
        string files = document[document.IndexOf("## 15. Files end to end", StringComparison.Ordinal)..];
        Dictionary<string, string> printed = VectorLine().Matches(files).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(Compute().OrderBy(p => p.Key), printed.OrderBy(p => p.Key));
    }

    [Fact]
    public void Every_chunk_of_the_vector_decrypts_back_and_the_offer_reads_back()
    {
        using FileKey key = FileKey.Import(Range(0x00, 32));
        FileId id = FileId.FromBytes(Range(0xa0, 16));
        byte[] small = "Parley file vector!"u8.ToArray();
        using FileChunkCipher cipher = new(key, id, new FileLayout(small.Length, 1024));
        byte[] back = new byte[1024];
        int length = cipher.Decrypt(0, Convert.FromHexString(Compute()["file_small_ciphertext"]), back);
        Assert.Equal(small, back[..length]);

        using FileOffer offer = FileOffer.Decode(Convert.FromHexString(Compute()["file_offer"]));
        Assert.Equal(("report.pdf", "application/pdf", 2500L, 1024, 3L), (offer.Name, offer.ContentType, offer.Layout.Size, offer.Layout.ChunkSize, offer.Layout.ChunkCount));
        Assert.Equal(id, offer.FileId);
        Assert.Equal(Range(0x00, 32), offer.Key.Export());
    }

    [GeneratedRegex(@"^ {4}(file_[a-z0-9_]+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex VectorLine();
}
