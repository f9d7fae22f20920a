using Parley.Crypto;
using Parley.Crypto.Signing;
using Parley.Tests.Support;
using Parley.Transport.Identity;

namespace Parley.Tests.Cli;

/// <summary>End to end through the real executable.</summary>
public class KeygenCliTests
{
    [Fact]
    public async Task Help_lists_the_commands()
    {
        using TempDirectory temp = new();
        (int code, string stdout, _) = await ParleyProcess.RunAsync(temp.Path, "--help");
        Assert.Equal(0, code);
        Assert.Contains("keygen", stdout);
        Assert.Contains("encrypted messenger", stdout);
    }

    [Theory]
    [InlineData("ed25519")]
    [InlineData("ecdsa-p256-sha256")]
    public async Task Keygen_writes_an_owner_only_key_and_prints_its_fingerprint(string algorithm)
    {
        using TempDirectory temp = new();
        (int code, string stdout, string stderr) = await ParleyProcess.RunAsync(temp.Path, "keygen", "--algorithm", algorithm, "--out", "keys/server.key");
        Assert.True(code == 0, stderr);
        string path = temp.File("keys/server.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using SigningKey key = IdentityFile.Read(path);
        Assert.Equal(algorithm, key.Algorithm.Name);
        Assert.Contains($"Fingerprint: {Fingerprint.Of(key.Algorithm, key.PublicKey)}", stdout);
        // Identity files load with KeyExportPolicy.None, so the stored private key is read from the file itself.
        string storedPrivateKey = File.ReadAllLines(path)[2]["private-key ".Length..];
        Assert.DoesNotContain(storedPrivateKey, stdout);
    }

    [Fact]
    public async Task Keygen_refuses_to_overwrite_an_existing_key()
    {
        using TempDirectory temp = new();
        Assert.Equal(0, (await ParleyProcess.RunAsync(temp.Path, "keygen")).ExitCode);
        byte[] before = File.ReadAllBytes(temp.File("parley-data/server-identity.key"));
        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "keygen");
        Assert.Equal(1, code);
        Assert.Contains("already exists", stderr);
        Assert.Equal(before, File.ReadAllBytes(temp.File("parley-data/server-identity.key")));
    }

    [Theory]
    [InlineData("keygen", "--algorithm", "rsa")]
    [InlineData("chat", "--port", "not-a-number")]
    [InlineData("no-such-command")]
    public async Task Bad_usage_exits_with_code_2_and_says_why(params string[] args)
    {
        using TempDirectory temp = new();
        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, args);
        Assert.Equal(2, code);
        Assert.Contains("--help", stderr);
    }

    [Fact]
    public void Identity_files_readable_by_others_are_refused()
    {
        using TempDirectory temp = new();
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey(KeyExportPolicy.AllowExport);
        string path = temp.File("id.key");
        IdentityFile.Write(path, key);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var error = Assert.Throws<InvalidDataException>(() => IdentityFile.Read(path));
        Assert.Contains("chmod 600", error.Message);
    }

    [Theory]
    [InlineData("ed25519")]
    [InlineData("ecdsa-p256-sha256")]
    public async Task The_server_start_up_line_names_the_identity_algorithm_it_loaded(string algorithm)
    {
        using TempDirectory temp = new();
        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "keygen", "--algorithm", algorithm, "--out", "data/server-identity.key");
        Assert.True(code == 0, stderr);
        using SigningKey key = IdentityFile.Read(temp.File("data/server-identity.key"));

        await using ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--host", "127.0.0.1", "--port", "0", "--data", "data");
        string identity = await server.WaitForLineAsync("[SERVER] Identity");
        Assert.EndsWith($"[SERVER] Identity loaded: {algorithm} {Fingerprint.Of(key.Algorithm, key.PublicKey)}", identity.TrimEnd());
    }
}
