using System.CommandLine;
using Parley.Crypto;
using Parley.Crypto.Signing;
using Parley.Transport.Identity;

namespace Parley.Cli.Commands;

/// <summary><c>parley keygen</c>: creates a long-term identity key (mode 0600) and prints its fingerprint.</summary>
internal static class KeygenCommand
{
    internal const string DefaultPath = "parley-data/server-identity.key";

    internal static Command Create()
    {
        Option<string> output = new("--out", "-o")
        {
            Description = "Where to write the key (created with mode 0600)",
            DefaultValueFactory = _ => DefaultPath,
        };
        Option<string> algorithm = new("--algorithm", "-a")
        {
            Description = "Signature algorithm",
            DefaultValueFactory = _ => SignatureAlgorithms.Ed25519.Name,
        };
        algorithm.AcceptOnlyFromAmong([.. SignatureAlgorithms.All.Select(a => a.Name)]);

        Command command = new("keygen", "Create a server identity key and print its fingerprint") { output, algorithm };
        command.SetAction(result => Run(result.GetValue(output)!, result.GetValue(algorithm)!, result.InvocationConfiguration.Output, result.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string path, string algorithmName, TextWriter stdout, TextWriter stderr)
    {
        if (File.Exists(path))
        {
            stderr.WriteLine($"parley keygen: {path} already exists; refusing to overwrite an identity key (remove it first if you really mean to replace it).");
            return ExitCodes.Failure;
        }
        SignatureAlgorithm algorithm = SignatureAlgorithms.Get(algorithmName);
        using SigningKey key = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        try
        {
            IdentityFile.Write(path, key);
        }
        catch (IOException e)
        {
            stderr.WriteLine($"parley keygen: cannot write {path}: {e.Message}");
            return ExitCodes.Failure;
        }
        stdout.WriteLine($"Created {algorithm.Name} identity {Path.GetFullPath(path)} (mode 0600)");
        stdout.WriteLine($"Fingerprint: {Fingerprint.Of(algorithm, key.PublicKey)}");
        return ExitCodes.Success;
    }
}
