using System.Collections.Concurrent;
using System.Reflection;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Samples;

/// <summary>
/// Builds a sample under samples/ with <c>dotnet build</c>, once per test run: the configuration of the test run
/// (Debug, Release), the repository found by walking up from the test assembly to Hermod.slnx.
/// </summary>
public sealed class SampleBuild
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _built = new(StringComparer.Ordinal);

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Hermod.slnx")))
                    return dir.FullName;
            Assert.Fail($"no Hermod.slnx above {AppContext.BaseDirectory}");
            return ""; // not reached
        }
    }

    /// <summary>The configuration this test assembly was built in: the sample is built the same way.</summary>
    public static string Configuration =>
        typeof(SampleBuild).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>Builds samples/<paramref name="project"/> (at most once) and returns the path of its dll.</summary>
    public Task<string> BuildAsync(string project) =>
        _built.GetOrAdd(project, p => new Lazy<Task<string>>(() => RunBuildAsync(p))).Value;

    private static async Task<string> RunBuildAsync(string project)
    {
        var directory = Path.Combine(RepositoryRoot, "samples", project);
        // --disable-build-servers: no MSBuild node or compiler server outlives the build holding its output pipes open
        var result = await Peers.RunAsync(HermodProcess.DotnetHost,
            ["build", Path.Combine(directory, project + ".csproj"), "-c", Configuration, "--nologo", "-clp:ErrorsOnly", "--disable-build-servers"],
            BuildTimeout, environment: ChildEnvironment());
        Assert.True(result.ExitCode == 0, $"dotnet build of samples/{project} failed: {result.Describe()}");
        // same target framework as the tests (Directory.Build.props): bin/<Configuration>/<tfm>/
        var tfm = Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var dll = Path.Combine(directory, "bin", Configuration, tfm, project + ".dll");
        Assert.True(File.Exists(dll), $"dotnet build of samples/{project} succeeded but {dll} is missing: {result.Describe()}");
        return dll;
    }

    /// <summary>
    /// What a child process must not inherit from the test run: HERMOD_* would override its config, and the MSBuild
    /// variables of the outer <c>dotnet test</c> would point the inner build at the outer one's SDK state.
    /// </summary>
    public static Dictionary<string, string?> ChildEnvironment()
    {
        var remove = new Dictionary<string, string?>();
        foreach (var key in Environment.GetEnvironmentVariables().Keys.OfType<string>())
            if (key.StartsWith("HERMOD_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase))
                remove[key] = null;
        return remove;
    }
}
