using BenchmarkDotNet.Running;

namespace Parley.Benchmarks;

public static class Program
{
    // dotnet run -c Release --project bench/Parley.Benchmarks -- --filter '*' --job short
    // dotnet run -c Release --project bench/Parley.Benchmarks -- store-cpu 256 1500
    public static async Task Main(string[] args)
    {
        if (args is ["store-cpu", string batch, string rounds])
        {
            await StoreCpu.RunAsync(int.Parse(batch, System.Globalization.CultureInfo.InvariantCulture), int.Parse(rounds, System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
