using System.CommandLine;
using Parley.Client;
using Parley.Crypto.Signing;
using Parley.Transport.Identity;

namespace Parley.Cli.Commands;

/// <summary><c>parley id</c>: shows (creating on first use) this person's identity fingerprint.</summary>
internal static class IdCommand
{
    internal static Command Create()
    {
        Command command = new("id", "Show your identity key's fingerprint (created on first use in ~/.parley)");
        command.SetAction(result =>
        {
            try
            {
                ParleyHome home = ParleyHome.Default();
                using SigningKey key = LoadOrCreate(home, out bool created);
                if (created)
                {
                    Console.WriteLine($"Created a new identity in {home.IdentityPath} (mode 0600)");
                }
                Console.WriteLine($"Your identity: {key.Algorithm.Name} {Fingerprint.Of(key.Algorithm, key.PublicKey)}");
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ParleyHomeException)
            {
                Console.Error.WriteLine($"parley id: {e.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    internal static SigningKey LoadOrCreate(ParleyHome home, out bool created) =>
        IdentityFile.LoadOrCreate(home.IdentityPath, SignatureAlgorithms.Ed25519, out created);
}
