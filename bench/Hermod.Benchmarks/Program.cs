using BenchmarkDotNet.Running;

namespace Hermod.Benchmarks;

public static class Program
{
    /// <summary>dotnet run -c Release --project bench/Hermod.Benchmarks -- --filter '*' (BenchmarkSwitcher arguments).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
