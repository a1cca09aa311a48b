using System.Net;
using System.Net.Sockets;

namespace Hermod.TestKit;

/// <summary>
/// A throwaway PostgreSQL cluster (Debian package postgresql) for one test run: <c>initdb</c> in a temporary directory
/// — as the <c>postgres</c> user when the tests run as root, since the server refuses to run as root — its unix socket
/// in the same directory, listening on 127.0.0.1 and a free port, with a role <see cref="Role"/> that owns one fresh
/// database per test (<see cref="CreateDatabaseAsync"/>). Disposing stops the server and removes the directory. A missing
/// PostgreSQL fails the test (<see cref="Peers"/>). One instance is shared by a test assembly as a collection fixture.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    /// <summary>The role Hermod connects as; it owns the databases the tests make.</summary>
    public const string Role = "hermod";

    private const string Superuser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private string _bin = "";
    private string _directory = "";
    private bool _asPostgres;
    private int _databases;

    public int Port { get; private set; }

    /// <summary>Where the server writes its log (shown when it would not start).</summary>
    public string LogPath => Path.Combine(_directory, "server.log");

    private string DataPath => Path.Combine(_directory, "data");

    public async Task InitializeAsync()
    {
        _bin = FindBinaries();
        _asPostgres = Environment.UserName == "root";
        _directory = Directory.CreateTempSubdirectory("hermod-pg-").FullName;
        if (_asPostgres) // the server's files and socket belong to the user it runs as
            await RunAsync("/usr/bin/chown", ["-R", $"{Superuser}:{Superuser}", _directory]);
        // --no-sync and fsync=off: the tests assert what the store does, not what survives a power cut; they run faster without
        await RunAsPostgresAsync(Path.Combine(_bin, "initdb"), ["-D", DataPath, "-U", Superuser, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
        for (var attempt = 0; ; attempt++)
        {
            Port = FreeTcpPort();
            var start = await StartServerAsync();
            if (start.ExitCode == 0)
                break;
            if (attempt == 4) // most likely the port was taken meanwhile; five times means something else
                Assert.Fail($"PostgreSQL would not start in {_directory}\n{start.Describe()}\n--- server log ---\n{ReadLog()}");
        }
        await PsqlAsync("postgres", $"CREATE ROLE {Role} LOGIN CREATEDB");
    }

    /// <summary>Stops the server (fast: its sessions are ended), keeping its data — the database gone away.</summary>
    public Task StopAsync() => RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), ["stop", "-m", "fast", "-w", "-D", DataPath]);

    /// <summary>Starts the server <see cref="StopAsync"/> stopped, on the same port.</summary>
    public async Task StartAgainAsync()
    {
        var start = await StartServerAsync();
        Assert.True(start.ExitCode == 0, $"PostgreSQL would not start again on port {Port}\n{start.Describe()}\n--- server log ---\n{ReadLog()}");
    }

    private Task<ProcessResult> StartServerAsync() =>
        Peers.RunAsync(Program(Path.Combine(_bin, "pg_ctl")), Arguments(Path.Combine(_bin, "pg_ctl"),
            ["start", "-w", "-t", "60", "-D", DataPath, "-l", LogPath, "-o",
                $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories={_directory} -c max_connections=300 -c fsync=off -c full_page_writes=off"]),
            CommandTimeout);

    /// <summary>A new, empty database owned by <see cref="Role"/>; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"hermod_{Interlocked.Increment(ref _databases)}";
        await PsqlAsync("postgres", $"CREATE DATABASE {name} OWNER {Role}");
        return ConnectionString(name);
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username={Role};Database={database}";

    /// <summary>Runs <paramref name="sql"/> as the superuser in <paramref name="database"/>; what psql printed (unaligned, tuples only).</summary>
    public async Task<string> PsqlAsync(string database, string sql)
    {
        var result = await Peers.RunAsync(Path.Combine(_bin, "psql"),
            ["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", Superuser, "-d", database, "-v", "ON_ERROR_STOP=1", "-A", "-t", "-c", sql],
            CommandTimeout);
        Assert.True(result.ExitCode == 0, $"psql {sql}\n{result.Describe()}");
        return result.Stdout.Trim();
    }

    /// <summary>The newest PostgreSQL's binaries under /usr/lib/postgresql/&lt;version&gt;/bin.</summary>
    private static string FindBinaries()
    {
        const string Root = "/usr/lib/postgresql";
        var newest = Directory.Exists(Root)
            ? Directory.GetDirectories(Root)
                .Where(d => File.Exists(Path.Combine(d, "bin", "initdb")) && int.TryParse(Path.GetFileName(d), out _))
                .OrderByDescending(d => int.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture))
                .FirstOrDefault()
            : null;
        if (newest is null)
            Assert.Fail($"peer 'initdb' (Debian package postgresql) not found at {Root}/<version>/bin: {Peers.InstallHint}");
        return Path.Combine(newest!, "bin");
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private string Program(string binary) => _asPostgres ? "/usr/sbin/runuser" : binary;

    private IEnumerable<string> Arguments(string binary, IEnumerable<string> args) => _asPostgres ? ["-u", Superuser, "--", binary, .. args] : args;

    private async Task RunAsPostgresAsync(string binary, IEnumerable<string> args)
    {
        var result = await Peers.RunAsync(Program(binary), Arguments(binary, args), CommandTimeout);
        Assert.True(result.ExitCode == 0, $"{binary} {string.Join(' ', args)}\n{result.Describe()}");
    }

    private static async Task RunAsync(string program, IEnumerable<string> args)
    {
        var result = await Peers.RunAsync(program, args, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', args)}\n{result.Describe()}");
    }

    private string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "(no log)";

    public async Task DisposeAsync()
    {
        if (_directory.Length == 0)
            return;
        if (File.Exists(Path.Combine(DataPath, "postmaster.pid")))
            await Peers.RunAsync(Program(Path.Combine(_bin, "pg_ctl")), Arguments(Path.Combine(_bin, "pg_ctl"), ["stop", "-m", "immediate", "-w", "-D", DataPath]),
                CommandTimeout);
        Directory.Delete(_directory, recursive: true);
        _directory = "";
    }
}
