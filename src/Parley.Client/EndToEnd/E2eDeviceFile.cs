// The first version's end-to-end state at rest, one file (parley chat now keeps a database,
// E2eDeviceDatabase, and reads this only to move it in): AES-256-GCM under a random 256-bit key kept in an
// owner-only key file beside it (docs/decisions/0006). The key is not derived from the password
// because device-token logins never see the password; the key file is what OpenSSH's id files
// are: protected by the owner-only mode of the user's home. Each save writes a fresh nonce and
// replaces the file atomically, so a crash leaves the old state or the new, never half of one.
using System.Security.Cryptography;
using System.Text;
using Parley.EndToEnd;
using Parley.Transport.Files;

namespace Parley.Client.EndToEnd;

public sealed class E2eDeviceFile(string statePath)
{
    private static ReadOnlySpan<byte> Magic => "PE2E"u8;
    private const byte FormatVersion = 1;
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public string StatePath { get; } = Path.GetFullPath(statePath);

    public string KeyPath => StatePath + ".key";

    public bool Exists => File.Exists(StatePath);

    public void Save(E2eDevice device)
    {
        byte[] key = LoadOrCreateKey();
        byte[] plaintext = device.ExportState();
        try
        {
            byte[] header = Header(device.User);
            byte[] nonce = RandomNumberGenerator.GetBytes(NonceSize);
            byte[] ciphertext = new byte[plaintext.Length];
            byte[] tag = new byte[TagSize];
            using (AesGcm aes = new(key, TagSize))
            {
                aes.Encrypt(nonce, plaintext, ciphertext, tag, header);
            }
            string temporary = StatePath + ".tmp";
            using (FileStream file = OwnerOnly.OpenWrite(temporary, FileMode.Create))
            {
                file.Write(header);
                file.Write(nonce);
                file.Write(tag);
                file.Write(ciphertext);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, StatePath, overwrite: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The saved device of <paramref name="user"/>; a file that was changed, or another user's, fails closed.</summary>
    /// <exception cref="E2eProtocolException">The file does not authenticate under the key file, or is malformed.</exception>
    public E2eDevice Load(string user)
    {
        byte[] file = File.ReadAllBytes(StatePath);
        byte[] header = Header(user);
        int headerLength = header.Length;
        if (file.Length < headerLength + NonceSize + TagSize || !file.AsSpan(0, headerLength).SequenceEqual(header))
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"{StatePath} is not the end-to-end state of {user}");
        }
        byte[] key = File.Exists(KeyPath) ? File.ReadAllBytes(KeyPath) : [];
        if (key.Length != KeySize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"{KeyPath} is missing or not a key");
        }
        ReadOnlySpan<byte> nonce = file.AsSpan(headerLength, NonceSize);
        ReadOnlySpan<byte> tag = file.AsSpan(headerLength + NonceSize, TagSize);
        ReadOnlySpan<byte> ciphertext = file.AsSpan(headerLength + NonceSize + TagSize);
        byte[] plaintext = new byte[ciphertext.Length];
        try
        {
            using (AesGcm aes = new(key, TagSize))
            {
                aes.Decrypt(nonce, ciphertext, tag, plaintext, header);
            }
            return E2eDevice.ImportState(plaintext);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new E2eProtocolException(E2eError.DecryptionFailed, $"{StatePath} does not authenticate: it was changed, or its key file is another one");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[] Header(string user)
    {
        byte[] name = Encoding.UTF8.GetBytes(user);
        byte[] header = new byte[Magic.Length + 2 + name.Length];
        Magic.CopyTo(header);
        header[Magic.Length] = FormatVersion;
        header[Magic.Length + 1] = checked((byte)name.Length);
        name.CopyTo(header, Magic.Length + 2);
        return header;
    }

    private byte[] LoadOrCreateKey()
    {
        if (File.Exists(KeyPath))
        {
            byte[] existing = File.ReadAllBytes(KeyPath);
            return existing.Length == KeySize ? existing : throw new E2eProtocolException(E2eError.MalformedData, $"{KeyPath} is not a key");
        }
        OwnerOnly.CreateDirectory(Path.GetDirectoryName(KeyPath)!);
        byte[] key = RandomNumberGenerator.GetBytes(KeySize);
        using (FileStream file = OwnerOnly.OpenWrite(KeyPath, FileMode.CreateNew))
        {
            file.Write(key);
            file.Flush(flushToDisk: true);
        }
        return key;
    }
}
