// Passwords: PBKDF2-HMAC-SHA256 (Rfc2898DeriveBytes.Pbkdf2), a random 16-byte salt per user,
// ≥ 600,000 iterations (OWASP's 2023 figure for PBKDF2-SHA256), a 32-byte hash. The algorithm
// and iteration count are stored with the hash, so they can be raised for new passwords without
// breaking old ones. PBKDF2 is CPU-heavy by design: a gate limits how many run at once (fewer
// than the cores, so a login storm cannot starve message delivery), and logins to existing
// accounts take free slots before registrations.
using System.Security.Cryptography;
using System.Text;
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

public sealed class PasswordHasher(int iterations, int maxConcurrent)
{
    public const string Algorithm = "pbkdf2-sha256";
    public const int RecommendedIterations = 600_000;
    private const int SaltSize = 16;
    private const int HashSize = 32;

    private long _evaluations;

    /// <summary>Leaves one core for delivery and the handshakes of everyone else.</summary>
    public static int DefaultMaxConcurrent => Math.Max(1, Environment.ProcessorCount - 1);

    public int Iterations { get; } = iterations;

    public PriorityGate Gate { get; } = new(maxConcurrent);

    /// <summary>PBKDF2 runs started since the server started (what an attacker's guesses cost).</summary>
    public long Evaluations => Interlocked.Read(ref _evaluations);

    /// <summary>Hashes a new account's password, behind every waiting login.</summary>
    public async Task<PasswordVerifier> HashAsync(string password, CancellationToken cancellationToken)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(SaltSize);
        byte[] hash = await DeriveAsync(password, salt, Iterations, HashPriority.Registration, cancellationToken).ConfigureAwait(false);
        return new PasswordVerifier(Algorithm, Iterations, salt, hash);
    }

    public async Task<bool> VerifyAsync(string password, PasswordVerifier verifier, CancellationToken cancellationToken)
    {
        if (verifier.Algorithm != Algorithm || verifier.Hash.Length != HashSize)
        {
            return false;
        }
        byte[] candidate = await DeriveAsync(password, verifier.Salt, verifier.Iterations, HashPriority.Login, cancellationToken).ConfigureAwait(false);
        try
        {
            return CryptographicOperations.FixedTimeEquals(candidate, verifier.Hash);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(candidate);
        }
    }

    private async Task<byte[]> DeriveAsync(string password, byte[] salt, int iterations, HashPriority priority, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(priority, cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _evaluations);
            // Its own thread, not a pool thread: a long CPU-bound run must not starve the pool that
            // serves every connection's I/O (the gate already bounds how many threads this makes).
            return await Task.Factory.StartNew(() =>
            {
                byte[] passwordBytes = Encoding.UTF8.GetBytes(password);
                try
                {
                    return Rfc2898DeriveBytes.Pbkdf2(passwordBytes, salt, iterations, HashAlgorithmName.SHA256, HashSize);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(passwordBytes);
                }
            }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            Gate.Release();
        }
    }
}
