using BenchmarkDotNet.Running;

namespace Parley.Benchmarks;

public static class Program
{
    // dotnet run -c Release --project bench/Parley.Benchmarks -- --filter '*' --job short
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
