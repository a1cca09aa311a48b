using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Security;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.Configuration;
using Hermod.Smtp.Configuration;
using Hermod.Storage.Postgres;
using Hermod.Storage.Sqlite;

namespace Hermod.Hosting.Tests.Configuration;

public sealed class ConfigLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hermod-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, "hermod.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static HermodConfiguration Load(string? path, Dictionary<string, string>? env = null) =>
        ConfigLoader.Load(path, env ?? NoEnvironment);

    private IReadOnlyList<string> Errors(string yaml, Dictionary<string, string>? env = null) =>
        Assert.Throws<ConfigException>(() => Load(Write(yaml), env)).Errors;

    [Fact]
    public void No_file_gives_the_embedded_defaults()
    {
        var o = Load(null);
        Assert.Equal("./data", o.Hermod.DataDir);
        Assert.Equal("sqlite", o.Storage.Provider);
        var mx = Assert.Single(o.Smtp.Listeners);
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:2525"), mx.Address);
        Assert.Equal(ListenerRole.Ingress, mx.Role);
        Assert.Equal(TlsMode.StartTls, mx.Tls);
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:8025"), o.Http.Address);
        Assert.Equal([o.Hermod.Hostname, "localhost"], o.Smtp.LocalDomains);
        Assert.Equal(50L << 20, o.Smtp.Limits.MaxMessageSize);
    }

    [Fact]
    public void The_reference_file_is_valid_and_matches_the_defaults()
    {
        var reference = Path.Combine(AppContext.BaseDirectory, "hermod.reference.yaml");
        var o = Load(reference);
        var defaults = new SmtpLimits();
        Assert.Equal(defaults.MaxMessageSize, o.Smtp.Limits.MaxMessageSize);
        Assert.Equal(defaults.MaxHeaderSize, o.Smtp.Limits.MaxHeaderSize);
        Assert.Equal(defaults.MinDataRate, o.Smtp.Limits.MinDataRate);
        Assert.Equal(new SmtpTimeouts().DataBlock, o.Smtp.Timeouts.DataBlock);
        Assert.Equal(new SqliteStorageOptions().ChunkSize, Assert.IsType<SqliteStorageOptions>(o.Storage).ChunkSize);
    }

    [Fact]
    public void Storage_on_postgres_binds_its_own_section_and_the_node_name()
    {
        var o = Load(Write("""
            storage:
              provider: postgres
              postgres: { connection_string: "Host=db.test;Username=hermod;Database=hermod", max_pool: 20 }
              sqlite: { max_batch: 64 }
            cluster: { node_name: mx2 }
            """));
        var postgres = Assert.IsType<PostgresStorageOptions>(o.Storage);
        Assert.Equal(("Host=db.test;Username=hermod;Database=hermod", 20, 512), (postgres.ConnectionString, postgres.MaxPool, postgres.MaxBatch));
        Assert.Equal("mx2", o.Hermod.NodeName);
    }

    [Fact]
    public void The_example_of_the_foundation_issue_loads()
    {
        var hash = PasswordHasher.Hash("secret", 1000);
        var o = Load(Write($$"""
            hostname: mx.example.test
            data_dir: ./data
            storage: { provider: sqlite }
            smtp:
              local_domains: [example.test]
              listeners:
                - { name: mx, address: 127.0.0.1:2525, role: ingress, tls: starttls, auth: none }
                - { name: submission, address: 127.0.0.1:2587, role: submission, tls: starttls, auth: required }
              limits: { max_message_size: 50MB, max_recipients: 1000, max_connections: 1000, max_connections_per_ip: 100 }
            users: [ { name: alice, password_hash: "{{hash}}" } ]
            http: { address: 127.0.0.1:8025 }
            """));
        Assert.Equal("mx.example.test", o.Hermod.Hostname);
        Assert.Equal(["example.test"], o.Smtp.LocalDomains);
        Assert.Equal(2, o.Smtp.Listeners.Count);
        Assert.Equal(ListenerRole.Submission, o.Smtp.Listeners[1].Role);
        Assert.Equal(AuthMode.Required, o.Smtp.Listeners[1].Auth);
        Assert.Equal(2587, o.Smtp.Listeners[1].Address.Port);
        Assert.Equal("alice", Assert.Single(o.Users).Name);
    }

    [Fact]
    public void Environment_variables_override_keys_and_list_items()
    {
        var path = Write("""
            smtp:
              listeners:
                - { name: mx, address: 127.0.0.1:2525 }
            """);
        var o = Load(path, new()
        {
            ["HERMOD_SMTP__LISTENERS__0__ADDRESS"] = "127.0.0.1:2626",
            ["HERMOD_SMTP__LISTENERS__1__NAME"] = "submission",
            ["HERMOD_SMTP__LISTENERS__1__ADDRESS"] = "127.0.0.1:2627",
            ["HERMOD_SMTP__LISTENERS__1__ROLE"] = "submission",
            ["HERMOD_SMTP__LIMITS__MAX_MESSAGE_SIZE"] = "10MB",
            ["HERMOD_SMTP__LOCAL_DOMAINS"] = "a.test, b.test",
            ["HERMOD_HOSTNAME"] = "env.example.test",
            ["OTHER_VARIABLE"] = "ignored",
        });
        Assert.Equal(2626, o.Smtp.Listeners[0].Address.Port);
        Assert.Equal("mx", o.Smtp.Listeners[0].Name);
        Assert.Equal("submission", o.Smtp.Listeners[1].Name);
        Assert.Equal(AuthMode.Required, o.Smtp.Listeners[1].Auth); // the submission default
        Assert.Equal(10L << 20, o.Smtp.Limits.MaxMessageSize);
        Assert.Equal(["a.test", "b.test"], o.Smtp.LocalDomains);
        Assert.Equal("env.example.test", o.Hermod.Hostname);
    }

    [Fact]
    public void An_environment_error_names_the_variable()
    {
        var error = Assert.Single(Assert.Throws<ConfigException>(() => Load(null, new() { ["HERMOD_SMTP__LIMITS__MAX_RECIPIENTS"] = "many" })).Errors);
        Assert.Equal("environment HERMOD_SMTP__LIMITS__MAX_RECIPIENTS: smtp.limits.max_recipients: 'many' is not a whole number from 1 to 100000", error);
    }

    [Theory]
    [InlineData("smtp:\n  limits:\n    max_message_size: 50QB\n", ":3: smtp.limits.max_message_size: '50QB' is not a size")]
    [InlineData("smtp:\n  listners: []\n", ":2: smtp.listners: unknown key")]
    [InlineData("smtp:\n  listeners:\n    - { address: 127.0.0.1:2525, role: relay }\n", ":3: smtp.listeners[0].role: 'relay' is not one of ingress, submission")]
    [InlineData("smtp:\n  listeners:\n    - { address: localhost }\n", ":3: smtp.listeners[0].address: 'localhost' is not an IP:port address")]
    [InlineData("smtp:\n  listeners:\n    - { role: submission, auth: none }\n", "smtp.listeners[0].auth: a submission listener relays anywhere, so it must have auth: required")]
    [InlineData("smtp:\n  listeners:\n    - { role: submission, tls: none }\n", "smtp.listeners[0].tls: AUTH is only offered over TLS")]
    [InlineData("smtp:\n  timeouts: { command: soon }\n", ":2: smtp.timeouts.command: 'soon' is not a positive duration")]
    [InlineData("smtp:\n  bare_line_endings: ignore\n", ":2: smtp.bare_line_endings: 'ignore' is not one of reject, normalize")]
    [InlineData("smtp:\n  limits: { max_command_line: 100 }\n", "smtp.limits.max_command_line: '100' is not a size from 512 to 65536 bytes")]
    [InlineData("users: [ { name: bob, password_hash: plain } ]\n", ":1: users[0].password_hash: is not a hash made by 'hermod hash-password'")]
    [InlineData("storage: { provider: mysql }\n", ":1: storage.provider: 'mysql' is not supported")]
    [InlineData("storage: { sqlite: { max_batsh: 5 } }\n", ":1: storage.sqlite.max_batsh: unknown key")]
    [InlineData("storage: { mysql: { max_pool: 5 } }\n", ":1: storage.mysql: unknown key (known here: provider, sqlite, postgres)")]
    [InlineData("cluster: { node_name: 'a b' }\n", ":1: cluster.node_name: 'a b' is not a node name")]
    [InlineData("cluster: { name: mx1 }\n", ":1: cluster.name: unknown key")]
    [InlineData("storage: { provider: postgres }\n", ":1: storage.postgres: is required with provider postgres")]
    [InlineData("storage:\n  provider: postgres\n  postgres:\n    connection_string: Host=db.test\n    max_pool: 0\n",
        ":5: storage.postgres.max_pool: '0' is not a whole number from 1 to 10000")]
    [InlineData("storage:\n  provider: postgres\n  postgres: { max_pool: 5 }\n", ":3: storage.postgres.connection_string: is required")]
    [InlineData("tls: { certificate: cert.pem }\n", ":1: tls: set both certificate and key")]
    [InlineData("hostname: 'bad host'\n", ":1: hostname: 'bad host' is not a valid host name")]
    [InlineData("smtp: [1, 2]\n", ":1: smtp: must be a mapping of keys")]
    [InlineData("smtp:\n  limits: { max_recipients: [1] }\n", ":2: smtp.limits.max_recipients: must be a single value")]
    public void Invalid_config_names_file_line_key_and_reason(string yaml, string expected)
    {
        var error = Assert.Single(Errors(yaml));
        Assert.StartsWith(Path.Combine(_dir, "hermod.yaml"), error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Storage_settings_go_under_the_providers_name_and_the_old_keys_still_read_with_a_warning()
    {
        var nested = Load(Write("storage: { sqlite: { max_batch: 7, chunk_size: 64KB } }\ncluster: { node_name: mx-2 }\n"));
        var sqlite = Assert.IsType<SqliteStorageOptions>(nested.Storage);
        Assert.Equal((7, 64 * 1024), (sqlite.MaxBatch, sqlite.ChunkSize));
        Assert.Empty(nested.Warnings);
        Assert.Equal("mx-2", nested.Hermod.NodeName);
        Assert.Equal(System.Net.Dns.GetHostName(), Load(null).Hermod.NodeName);

        var path = Write("storage:\n  provider: sqlite\n  max_batch: 9\n");
        var old = Load(path);
        Assert.Equal(9, Assert.IsType<SqliteStorageOptions>(old.Storage).MaxBatch);
        Assert.Equal($"{path}:3: storage.max_batch: is deprecated: write it as storage.sqlite.max_batch", Assert.Single(old.Warnings));
    }

    [Fact]
    public void Delivery_routes_and_dns_load()
    {
        var o = Load(Write("""
            dns: { servers: [127.0.0.1:5353, "::1"], timeout: 500ms }
            routes:
              "Example.test": "127.0.0.1:2600"
              "*": { host: "smarthost.test:587", tls: required, auth: { user: relay, password: secret } }
              "v6.test": "[::1]:2700"
              "plain.test": "mx.plain.test"
            delivery:
              remote_port: 2525
              retry: { min: 10s, max: 2m, factor: 3, max_age: 1h }
              delay_warning: 30m
              max_per_destination: 2
            """));
        Assert.Equal([IPEndPoint.Parse("127.0.0.1:5353"), IPEndPoint.Parse("[::1]:53")], o.Dns.Servers);
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.Dns.Timeout);
        var byDomain = o.Delivery.Routes.ToDictionary(r => r.Domain);
        Assert.Equal(("127.0.0.1", 2600), (byDomain["example.test"].Host, byDomain["example.test"].Port!.Value));
        Assert.Equal(("smarthost.test", 587, OutboundTls.Required, "relay", "secret"),
            (byDomain["*"].Host, byDomain["*"].Port!.Value, byDomain["*"].Tls!.Value, byDomain["*"].User, byDomain["*"].Password));
        Assert.Equal(("::1", 2700), (byDomain["v6.test"].Host, byDomain["v6.test"].Port!.Value));
        Assert.Null(byDomain["plain.test"].Port);
        Assert.Equal(2525, o.Delivery.RemotePort);
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(2), 3.0, TimeSpan.FromHours(1)),
            (o.Delivery.Retry.Min, o.Delivery.Retry.Max, o.Delivery.Retry.Factor, o.Delivery.Retry.MaxAge));
        Assert.Equal(TimeSpan.FromMinutes(30), o.Delivery.DelayWarning);
        Assert.Equal(2, o.Delivery.MaxPerDestination);
    }

    [Theory]
    [InlineData("routes: { \"a.test\": \"host:99999\" }\n", "routes.a.test: 'host:99999' has no valid port")]
    [InlineData("routes: { \"a.test\": \"bad host\" }\n", "routes.a.test: 'bad host' is not a host name or IP address")]
    [InlineData("routes: { \"*\": { host: h.test, auth: { user: u } } }\n", "routes.*.auth: needs both user and password")]
    [InlineData("routes: { \"*\": { host: h.test, tls: maybe } }\n", "routes.*.tls: 'maybe' is not one of none, opportunistic, required")]
    [InlineData("delivery: { retry: { min: 1h, max: 1m } }\n", "delivery.retry.max: must not be less than min")]
    [InlineData("delivery: { retry: { factor: 0.5 } }\n", "delivery.retry.factor: '0.5' is not a number from 1 to 100")]
    [InlineData("dns: { servers: [nameserver] }\n", "dns.servers: 'nameserver' is not an IP address or IP:port")]
    [InlineData("delivery: { remote_port: 0 }\n", "delivery.remote_port: '0' is not a whole number from 1 to 65535")]
    public void Invalid_delivery_config_names_the_key(string yaml, string expected) =>
        Assert.Contains(expected, Assert.Single(Errors(yaml)));

    [Fact]
    public void All_errors_are_reported_at_once()
    {
        var errors = Errors("smtp:\n  limits: { max_recipients: 0, max_errors: x }\nfoo: 1\n");
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void Yaml_syntax_errors_and_missing_files_are_config_errors()
    {
        Assert.Contains("not valid YAML", Assert.Single(Errors("smtp: { listeners: [\n")));
        Assert.Contains("cannot read the file", Assert.Single(Assert.Throws<ConfigException>(() => Load(Path.Combine(_dir, "missing.yaml"))).Errors));
    }

    [Theory]
    [InlineData("1024", 1024L)]
    [InlineData("64KB", 65536L)]
    [InlineData("50MB", 52428800L)]
    [InlineData("2 GiB", 2147483648L)]
    [InlineData("7b", 7L)]
    public void Sizes_parse_with_binary_units(string text, long bytes)
    {
        Assert.True(Units.TryParseSize(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("10", 10_000)]
    public void Durations_parse(string text, long milliseconds)
    {
        Assert.True(Units.TryParseDuration(text, out var parsed));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("MB")]
    [InlineData("-1")]
    [InlineData("99999999999999999GB")]
    public void Bad_sizes_are_refused(string text) => Assert.False(Units.TryParseSize(text, out _));
}
