using System.Text;
using Parley.Cli.CommandLine;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>
/// `parley server` and `parley bench` replace themselves once with the collector's larger
/// first-generation budget in their environment (decision 0023); every other command, and any
/// budget the user chose, is left alone.
/// </summary>
public class Gen0BudgetTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Theory]
    [InlineData("server")]
    [InlineData("bench")]
    public void The_server_and_the_load_generator_get_the_budget(string command) =>
        Assert.True(Gen0Budget.Applies([command, "--port", "0"], Environment()));

    [Theory]
    [InlineData("chat")]
    [InlineData("peer")]
    [InlineData("devices")]
    [InlineData("version")]
    [InlineData("--help")]
    public void Other_commands_run_as_started(string command) =>
        Assert.False(Gen0Budget.Applies([command], Environment()));

    [Fact]
    public void Nothing_to_run_means_nothing_to_replace() =>
        Assert.False(Gen0Budget.Applies([], Environment()));

    [Theory]
    [InlineData("DOTNET_GCgen0size", "0")]
    [InlineData("DOTNET_GCgen0size", "0x1000000")]
    [InlineData("COMPlus_GCgen0size", "0x800000")]
    public void A_budget_the_user_chose_is_kept(string variable, string value) =>
        Assert.False(Gen0Budget.Applies(["server"], Environment((variable, value))));

    [Fact]
    public void Proc_strings_split_at_each_nul_and_keep_bytes_that_are_not_utf8()
    {
        byte[] content = [.. "parley\0"u8, 0xFF, 0xFE, 0, .. "\0last"u8];

        List<byte[]> parts = Gen0Budget.SplitAtNul(content);

        Assert.Equal(4, parts.Count);
        Assert.Equal("parley"u8.ToArray(), parts[0]);
        Assert.Equal(new byte[] { 0xFF, 0xFE }, parts[1]);
        Assert.Empty(parts[2]);
        Assert.Equal("last"u8.ToArray(), parts[3]);
    }

    [LinuxFact]
    public async Task The_real_server_runs_in_the_same_process_with_the_budget_and_its_diagnostics_socket()
    {
        using TempDirectory temp = new();
        await using ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--port", "0", "--data", "data");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");

        // Named after the program it was started as (ParleyProcess runs `dotnet parley.dll`), so ps,
        // pgrep and top show what they showed before, not "exe".
        Assert.Equal("dotnet", File.ReadAllText($"/proc/{server.ProcessId}/comm").TrimEnd('\n'));

        // The process the test started is the server: same id, same arguments, the budget added once.
        string[] environment = ReadProcStrings(server.ProcessId, "environ");
        Assert.Equal([Gen0Budget.Variable + "=" + Gen0Budget.Budget], environment.Where(v => v.StartsWith(Gen0Budget.Variable + "=", StringComparison.Ordinal)));
        string[] arguments = ReadProcStrings(server.ProcessId, "cmdline");
        Assert.Equal(["server", "--port", "0", "--data", "data"], arguments[^5..]);

        // dotnet-counters and dotnet-trace can still attach: the new image listens on its socket.
        string listening = File.ReadAllText("/proc/net/unix");
        Assert.Contains($"dotnet-diagnostic-{server.ProcessId}-", listening);
    }

    [LinuxFact]
    public async Task A_server_started_with_the_runtime_default_keeps_it()
    {
        using TempDirectory temp = new();
        Dictionary<string, string> chosen = new() { [Gen0Budget.Variable] = "0" };
        await using ParleyProcess server = ParleyProcess.Start(temp.Path, chosen, "server", "--port", "0", "--data", "data");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");

        string[] environment = ReadProcStrings(server.ProcessId, "environ");
        Assert.Equal([Gen0Budget.Variable + "=0"], environment.Where(v => v.StartsWith(Gen0Budget.Variable + "=", StringComparison.Ordinal)));
    }

    private static string[] ReadProcStrings(int processId, string file) =>
        Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{processId}/{file}")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A fact about Linux alone (the budget is put in place with execve there): skipped, saying so, elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "the budget is put in place with execve, on Linux only";
        }
    }
}
