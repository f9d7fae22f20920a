// A long-term identity key on disk (server identity now; user identities later):
//     parley-identity-v1
//     algorithm <name>
//     private-key <base64>
// Written 0600 and refused on load when group or others can read it, like OpenSSH's
// "UNPROTECTED PRIVATE KEY FILE".
using System.Security.Cryptography;
using System.Text;
using Parley.Crypto;
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Transport.Files;

namespace Parley.Transport.Identity;

public static class IdentityFile
{
    private const string Magic = "parley-identity-v1";

    /// <summary>Writes a new key (created with KeyExportPolicy.AllowExport); refuses to overwrite an existing file.</summary>
    public static void Write(string path, SigningKey key)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            OwnerOnly.CreateDirectory(directory);
        }
        byte[] privateKey = key.ExportPrivateKey();
        byte[] content = Encoding.ASCII.GetBytes($"{Magic}\nalgorithm {key.Algorithm.Name}\nprivate-key {Convert.ToBase64String(privateKey)}\n");
        try
        {
            using FileStream stream = OwnerOnly.OpenWrite(path, FileMode.CreateNew);
            stream.Write(content);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
            CryptographicOperations.ZeroMemory(content);
        }
    }

    /// <exception cref="InvalidDataException">The file is not an identity file, or is readable by others.</exception>
    public static SigningKey Read(string path) => Read(path, out SessionTicketKey? _, deriveTicketKey: false);

    /// <summary>
    /// Reads the identity and derives its session ticket key (PROTOCOL.md §5.8) from the private
    /// key while it is in hand: nodes loading the same file seal and open the same tickets.
    /// </summary>
    public static SigningKey Read(string path, out SessionTicketKey ticketKey)
    {
        SigningKey key = Read(path, out SessionTicketKey? derived, deriveTicketKey: true);
        ticketKey = derived!;
        return key;
    }

    private static SigningKey Read(string path, out SessionTicketKey? ticketKey, bool deriveTicketKey)
    {
        ticketKey = null;
        if (OwnerOnly.IsExposed(path))
        {
            throw new InvalidDataException($"{path} is readable by other users; run 'chmod 600 {path}' (private keys must be owner-only).");
        }
        string[] lines = File.ReadAllLines(path);
        if (lines.Length < 3 || lines[0] != Magic)
        {
            throw new InvalidDataException($"{path} is not a Parley identity file (expected '{Magic}' on the first line).");
        }
        string algorithmName = Field(lines[1], "algorithm", path);
        if (!SignatureAlgorithms.TryGet(algorithmName, out SignatureAlgorithm algorithm))
        {
            throw new InvalidDataException($"{path} uses unknown algorithm '{algorithmName}'.");
        }
        byte[] privateKey;
        try
        {
            privateKey = Convert.FromBase64String(Field(lines[2], "private-key", path));
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"{path}: the private key is not valid base64.");
        }
        try
        {
            SigningKey key = algorithm.ImportPrivateKey(privateKey);
            if (deriveTicketKey)
            {
                ticketKey = SessionTicketKey.Derive(privateKey, algorithm.Name, key.PublicKey);
            }
            return key;
        }
        catch (ArgumentException)
        {
            throw new InvalidDataException($"{path}: the private key is not a valid {algorithmName} key.");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    /// <summary>Loads the identity at <paramref name="path"/>, creating it first if it does not exist.</summary>
    public static SigningKey LoadOrCreate(string path, SignatureAlgorithm algorithm, out bool created)
    {
        created = !File.Exists(path);
        if (created)
        {
            using SigningKey key = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
            Write(path, key);
        }
        return Read(path);
    }

    /// <summary>As <see cref="LoadOrCreate(string, SignatureAlgorithm, out bool)"/>, with the identity's session ticket key.</summary>
    public static SigningKey LoadOrCreate(string path, SignatureAlgorithm algorithm, out bool created, out SessionTicketKey ticketKey)
    {
        created = !File.Exists(path);
        if (created)
        {
            using SigningKey key = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
            Write(path, key);
        }
        return Read(path, out ticketKey);
    }

    private static string Field(string line, string name, string path)
    {
        string prefix = name + " ";
        return line.StartsWith(prefix, StringComparison.Ordinal)
            ? line[prefix.Length..].Trim()
            : throw new InvalidDataException($"{path}: expected a '{name}' line.");
    }
}
