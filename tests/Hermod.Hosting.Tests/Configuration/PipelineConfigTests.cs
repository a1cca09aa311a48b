using System.Net;
using System.Text.RegularExpressions;
using Hermod.Core.Configuration;
using Hermod.Core.Extensions;
using Hermod.Core.Smtp;
using Hermod.Dns;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.TestKit;
using Hermod.Policy;
using Hermod.Policy.Checks;
using Hermod.Policy.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Tests.Configuration;

/// <summary>pipelines: and targets: from YAML to options (ConfigLoader), to built pipelines (PipelineBuilder), and through `hermod check-config`.</summary>
public sealed class PipelineConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hermod-pipeline-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigPath => Path.Combine(_dir, "hermod.yaml");

    private string Write(string yaml)
    {
        File.WriteAllText(ConfigPath, yaml);
        return ConfigPath;
    }

    private static readonly Dictionary<string, string> NoEnvironment = [];

    private HermodConfiguration Load(string yaml) => ConfigLoader.Load(Write(yaml), NoEnvironment);

    private IReadOnlyList<string> Errors(string yaml) => Assert.Throws<ConfigException>(() => Load(yaml)).Errors;

    /// <summary>Asserts the single error starts with the file and contains <paramref name="expected"/> (":line: key: reason").</summary>
    private string SingleError(string yaml, string expected)
    {
        var errors = Errors(yaml);
        Assert.True(errors.Count == 1, $"expected one error, got:\n{string.Join("\n", errors)}");
        Assert.StartsWith(ConfigPath + ":", errors[0]);
        Assert.Contains(expected, errors[0]);
        return errors[0];
    }

    private string FullConfig(string table) => $$"""
        hostname: mx.example.test
        smtp:
          listeners:
            - { name: mx, address: 127.0.0.1:0, pipeline: inbound }
            - { name: submission, address: 127.0.0.1:0, role: submission, tls: starttls, auth: required, pipeline: outbound }
        http: { address: 127.0.0.1:0, pipeline: outbound }
        targets:
          smarthost: { type: relay, host: "smtp.example.net:587", tls: required, user: hermod, password: secret }
          mailboxes: { type: maildir, path: "{{_dir}}/mail/{domain}/{user}", create: true }
          archive:
            type: http
            url: https://archive.example.net/in
            timeout: 30s
            headers: { Authorization: "Bearer token" }
        pipelines:
          inbound:
            checks:
              - spf
              - dnsbl: { zones: [zen.example.net], timeout: 5s, on_timeout: accept }
              - fcrdns:
              - recipient_exists: { addresses: [postmaster@example.test] }
            modifiers:
              - remove_plus_address: { separator: "+" }
            destination:
              - match: [example.test, postmaster@example.org]
                table: {{table}}
                deliver_to: [mailboxes, archive]
                checks: [ { rate_limit: { by: sender } } ]
              - match: [abuse@example.test]
                reject: { code: 550, enhanced: 5.7.1, text: "Use the web form" }
            default: { reject: { code: 550, enhanced: 5.7.1, text: "Relay denied" } }
          outbound:
            checks: [require_auth]
            modifiers:
              - add_header: { name: X-Relayed-By, value: hermod }
            source:
              - users: [alice]
                deliver_to: [smarthost]
              - match: [example.test]
                destination:
                  - match: [example.org]
                    deliver_to: [discard]
                default: { deliver_to: [remote] }
            default:
              destination:
                - match: [example.net]
                  deliver_to: [quarantine]
              default: { reject: { code: 451, text: "Try later" } }
        """;

    private string Table()
    {
        var path = Path.Combine(_dir, "local-domains.txt");
        File.WriteAllText(path, "# local\nexample.net\nbob@example.com # a person\n");
        return path;
    }

    // ---- a valid configuration

    [Fact]
    public void A_full_configuration_binds_targets_pipelines_and_references()
    {
        var table = Table();
        var o = Load(FullConfig(table));

        Assert.Equal(["inbound", "outbound"], o.Smtp.Listeners.Select(l => l.Pipeline));
        Assert.Equal("outbound", o.Http.Pipeline);

        Assert.Equal(["archive", "mailboxes", "smarthost"], o.Delivery.Targets.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("relay", "smarthost", "targets.smarthost"), (o.Delivery.Targets["smarthost"].Type, o.Delivery.Targets["smarthost"].Name, o.Delivery.Targets["smarthost"].Section.Key));
        Assert.Equal("smtp.example.net:587", o.Delivery.Targets["smarthost"].Section.String("host"));
        Assert.Equal("maildir", o.Delivery.Targets["mailboxes"].Type);
        Assert.Equal("http", o.Delivery.Targets["archive"].Type);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Delivery.Targets["archive"].Section.Duration("timeout"));
        Assert.Equal("Bearer token", o.Delivery.Targets["archive"].Section.Map("headers")!["authorization"]);
        Assert.StartsWith(ConfigPath + ":", o.Delivery.Targets["archive"].Section.Origin);

        var inbound = o.Policy.Pipelines["inbound"];
        Assert.Equal("pipelines.inbound", inbound.Key);
        Assert.Equal(["spf", "dnsbl", "fcrdns", "recipient_exists"], inbound.Checks.Select(c => c.Kind));
        var spf = inbound.Checks[0];
        Assert.Equal(("pipelines.inbound.checks[0].spf", (TimeSpan?)null, (string?)null), (spf.Section.Key, spf.Timeout, spf.OnTimeout));
        var dnsbl = inbound.Checks[1];
        Assert.Equal(("pipelines.inbound.checks[1].dnsbl", TimeSpan.FromSeconds(5), "accept"), (dnsbl.Section.Key, dnsbl.Timeout, dnsbl.OnTimeout));
        Assert.Equal(["zen.example.net"], dnsbl.Section.Strings("zones"));
        Assert.False(dnsbl.Section.Has("timeout")); // the pipeline's, not the check's option
        Assert.False(dnsbl.Section.Has("on_timeout"));
        Assert.Equal(("fcrdns", "pipelines.inbound.checks[2].fcrdns"), (inbound.Checks[2].Kind, inbound.Checks[2].Section.Key)); // "name:" with nothing
        Assert.Equal(["postmaster@example.test"], inbound.Checks[3].Section.Strings("addresses"));
        Assert.Equal("+", Assert.Single(inbound.Modifiers).Section.String("separator"));
        Assert.Equal("remove_plus_address", inbound.Modifiers[0].Kind);

        Assert.Empty(inbound.Source);
        Assert.Equal(2, inbound.Destination.Count);
        var local = inbound.Destination[0];
        Assert.Equal("pipelines.inbound.destination[0]", local.Key);
        Assert.Equal(["example.test", "postmaster@example.org"], local.Match);
        Assert.Equal(table, local.Table);
        Assert.Equal(["mailboxes", "archive"], local.DeliverTo);
        Assert.Equal("rate_limit", Assert.Single(local.Checks).Kind);
        Assert.Equal("sender", local.Checks[0].Section.String("by"));
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Use the web form"), inbound.Destination[1].Reject);
        Assert.Null(inbound.Destination[1].DeliverTo);
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Relay denied"), inbound.Default!.Reject);
        Assert.Equal("pipelines.inbound.default", inbound.Default.Key);

        var outbound = o.Policy.Pipelines["outbound"];
        Assert.Equal(["require_auth"], outbound.Checks.Select(c => c.Kind));
        Assert.Equal("X-Relayed-By", Assert.Single(outbound.Modifiers).Section.String("name"));
        Assert.Empty(outbound.Destination);
        Assert.Equal(["alice"], outbound.Source[0].Users);
        Assert.Equal(["smarthost"], outbound.Source[0].DeliverTo);
        Assert.Equal("pipelines.outbound.source[1].destination[0]", outbound.Source[1].Destination[0].Key);
        Assert.Equal(["discard"], outbound.Source[1].Destination[0].DeliverTo);
        Assert.Equal(["remote"], outbound.Source[1].Default!.DeliverTo);
        Assert.Equal(["quarantine"], outbound.Default!.Destination[0].DeliverTo);
        Assert.Equal(new SmtpReply(451, new(4, 7, 1), "Try later"), outbound.Default.Default!.Reject); // the enhanced code follows the class
    }

    [Fact]
    public void A_full_configuration_builds_with_the_built_in_components()
    {
        var o = Load(FullConfig(Table()));
        var pipelines = Build(o);
        Assert.Equal(["inbound", "outbound"], pipelines.Keys.Order(StringComparer.Ordinal));
        var inbound = pipelines["inbound"].Root;
        Assert.Equal(["spf", "dnsbl", "fcrdns", "recipient_exists"], inbound.Checks.Select(c => c.Check.Name));
        Assert.Equal(TimeSpan.FromSeconds(5), inbound.Checks[1].Timeout);
        Assert.Equal(PipelineBuilder.DefaultCheckTimeout, inbound.Checks[0].Timeout);
        Assert.Same(CheckResult.Accept, inbound.Checks[1].OnTimeout);
        var local = inbound.Destination[0];
        Assert.Equal(["example.net", "example.test"], local.Domains.Order(StringComparer.Ordinal)); // the table's entries joined the match list
        Assert.Equal(["bob@example.com", "postmaster@example.org"], local.Addresses.Order(StringComparer.Ordinal));
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Use the web form"), inbound.Destination[1].Reject);
        Assert.Equal(["alice"], pipelines["outbound"].Root.Source[0].Users);
    }

    [Fact]
    public void A_default_beside_destination_blocks_needs_no_match()
    {
        // Regression: the default was bound as one more destination block, so it needed match or table of its own.
        var o = Load("""
            pipelines:
              p:
                destination:
                  - { match: [example.test], deliver_to: [discard] }
                default: { deliver_to: [remote] }
              q:
                source:
                  - match: [example.test]
                    destination:
                      - { match: [example.org], deliver_to: [discard] }
                    default: { reject: { code: 550, text: "Relay denied" } }
                default: { deliver_to: [remote] }
            """);
        Assert.Equal(["remote"], o.Policy.Pipelines["p"].Default!.DeliverTo);
        Assert.Empty(o.Policy.Pipelines["p"].Default!.Match);
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Relay denied"), o.Policy.Pipelines["q"].Source[0].Default!.Reject);
    }

    [Fact]
    public void A_pipeline_file_without_pipelines_binds_none()
    {
        var o = Load("smtp: { local_domains: [example.test] }\n");
        Assert.Empty(o.Policy.Pipelines);
        Assert.Empty(o.Delivery.Targets);
        Assert.All(o.Smtp.Listeners, l => Assert.Null(l.Pipeline));
        Assert.Null(o.Http.Pipeline);
    }

    // ---- binding errors: file:line: key: reason

    public static TheoryData<string, string> BindingErrors => new()
    {
        {
            """
            pipelines:
              p:
                deliver_to: [remote]
                chekcs: [spf]
            """,
            ":4: pipelines.p.chekcs: unknown key"
        },
        {
            """
            pipelines:
              p:
                destination:
                  - match: [example.test]
                    users: [alice]
                    deliver_to: [remote]
                default: { deliver_to: [remote] }
            """,
            ":5: pipelines.p.destination[0].users: unknown key"
        },
        {
            """
            pipelines:
              p:
                source:
                  - { match: [a.test], deliver_to: [remote] }
                destination:
                  - { match: [b.test], deliver_to: [remote] }
                default: { deliver_to: [remote] }
            """,
            ":3: pipelines.p: has both source and destination blocks"
        },
        {
            """
            pipelines:
              p:
                source:
                  - { match: [a.test], deliver_to: [remote] }
            """,
            ":3: pipelines.p: has source or destination blocks but no default"
        },
        {
            """
            pipelines:
              p:
                destination:
                  - { match: [a.test], deliver_to: [remote] }
            """,
            ":3: pipelines.p: has source or destination blocks but no default"
        },
        {
            """
            pipelines:
              p:
                default: { deliver_to: [remote] }
            """,
            ":3: pipelines.p.default: only goes with source or destination blocks"
        },
        {
            """
            pipelines:
              p:
                deliver_to: [remote, archive]
            """,
            ":3: pipelines.p.deliver_to: no target 'archive' (built in: remote, discard, quarantine"
        },
        {
            """
            pipelines:
              p:
                deliver_to: []
            """,
            ":3: pipelines.p.deliver_to: names no target"
        },
        {
            """
            pipelines:
              p:
                reject: { code: 250 }
            """,
            ":3: pipelines.p.reject.code: '250' is not a whole number from 400 to 599"
        },
        {
            """
            pipelines:
              p:
                reject: { code: 450, enhanced: 5.7.1 }
            """,
            ":3: pipelines.p.reject.enhanced: '5.7.1' is not an enhanced status code of the same class as 450"
        },
        {
            """
            pipelines:
              p:
                reject: { enhanced: "5.7" }
            """,
            ":3: pipelines.p.reject.enhanced: '5.7' is not an enhanced status code"
        },
        {
            """
            pipelines:
              p:
                reject: { text: "two\r\n250 lines" }
            """,
            ":3: pipelines.p.reject.text: must be printable ASCII on one line"
        },
        {
            """
            pipelines:
              p:
                reject: { text: "Zurückgewiesen" }
            """,
            ":3: pipelines.p.reject.text: must be printable ASCII on one line"
        },
        {
            """
            pipelines:
              p:
                deliver_to: [remote]
                reject: { code: 550 }
            """,
            ":3: pipelines.p: ends in more than one way"
        },
        {
            """
            pipelines:
              p:
                destination:
                  - { match: ["not a domain"], deliver_to: [remote] }
                default: { deliver_to: [remote] }
            """,
            ":4: pipelines.p.destination[0].match: 'not a domain' is not an address or a domain"
        },
        {
            """
            pipelines:
              p:
                source:
                  - { match: ["@example.test"], deliver_to: [remote] }
                default: { deliver_to: [remote] }
            """,
            ":4: pipelines.p.source[0].match: '@example.test' is not an address or a domain"
        },
        {
            """
            pipelines:
              p:
                source:
                  - { deliver_to: [remote] }
                default: { deliver_to: [remote] }
            """,
            ":4: pipelines.p.source[0]: a source block needs match, users or table"
        },
        {
            """
            pipelines:
              p:
                destination:
                  - { deliver_to: [remote] }
                default: { deliver_to: [remote] }
            """,
            ":4: pipelines.p.destination[0]: a destination block needs match or table"
        },
        {
            """
            pipelines:
              p:
                source:
                  - { match: [example.test] }
                default: { deliver_to: [remote] }
            """,
            ":4: pipelines.p.source[0]: needs deliver_to, reject, or destination blocks with a default"
        },
        {
            """
            pipelines:
              p:
                source: { match: [example.test] }
            """,
            ":3: pipelines.p.source: must be a list of source blocks"
        },
        {
            """
            smtp:
              listeners:
                - { address: 127.0.0.1:0, pipeline: nowhere }
            pipelines:
              p: { deliver_to: [remote] }
            """,
            ":3: smtp.listeners[0].pipeline: no pipeline 'nowhere' under pipelines:"
        },
        {
            """
            pipelines:
              p:
                destination:
                  - { match: [example.test], deliver_to: [remote] }
                default: { match: [example.org], deliver_to: [remote] }
            """,
            ":5: pipelines.p.default.match: unknown key"
        },
        {
            """
            pipelines:
              p:
                destination:
                  - { match: [example.test], deliver_to: [remote] }
                default: { checks: [spf] }
            """,
            ":5: pipelines.p.default: needs deliver_to, reject, or destination blocks with a default"
        },
        {
            """
            http: { pipeline: nowhere }
            pipelines:
              p: { deliver_to: [remote] }
            """,
            ":1: http.pipeline: no pipeline 'nowhere' under pipelines:"
        },
        {
            """
            targets:
              archive: { url: https://archive.example.net/in }
            """,
            ":2: targets.archive.type: is required"
        },
        {
            """
            targets:
              my.archive: { type: http, url: https://archive.example.net/in }
            """,
            ":2: targets.my.archive: a target name is letters, digits, '_' and '-'"
        },
        {
            """
            targets:
              archive: [http]
            """,
            ":2: targets.archive: must be a mapping of keys"
        },
        {
            """
            pipelines:
              in bound: { deliver_to: [remote] }
            """,
            ":2: pipelines.in bound: a pipeline name is letters, digits, '_' and '-'"
        },
        {
            """
            pipelines:
              p:
                checks:
                  - spf: { on_timeout: maybe }
                deliver_to: [remote]
            """,
            ":4: pipelines.p.checks[0].spf.on_timeout: 'maybe' is not one of tempfail, reject, accept"
        },
        {
            """
            pipelines:
              p:
                checks:
                  - spf: { timeout: soon }
                deliver_to: [remote]
            """,
            ":4: pipelines.p.checks[0].spf.timeout: 'soon' is not a positive duration"
        },
        {
            """
            pipelines:
              p:
                checks:
                  - [spf, dnsbl]
                deliver_to: [remote]
            """,
            ":4: pipelines.p.checks[0]: must be a name, or a mapping of one name to its options"
        },
        {
            """
            pipelines:
              p:
                checks:
                  - { spf: {}, dnsbl: {} }
                deliver_to: [remote]
            """,
            ":4: pipelines.p.checks[0]: must be a name, or a mapping of one name to its options"
        },
        {
            """
            pipelines:
              p:
                modifiers:
                  - alias: [a, b]
                deliver_to: [remote]
            """,
            ":4: pipelines.p.modifiers[0].alias: must be a mapping of options (or nothing)"
        },
        {
            """
            pipelines:
              p:
                checks: spf
                deliver_to: [remote]
            """,
            ":3: pipelines.p.checks: must be a list"
        },
    };

    [Theory]
    [MemberData(nameof(BindingErrors))]
    public void A_pipeline_error_names_file_line_key_and_reason(string yaml, string expected) => SingleError(yaml, expected);

    [Fact]
    public void A_listener_pipeline_error_names_the_line_of_the_listener()
    {
        SingleError("""
            hostname: mx.example.test
            smtp:
              listeners:
                - name: mx
                  address: 127.0.0.1:0
                  pipeline: nowhere
            """, ":6: smtp.listeners[0].pipeline: no pipeline 'nowhere' under pipelines:");
        SingleError("""
            hostname: mx.example.test
            http:
              address: 127.0.0.1:0
              pipeline: nowhere
            """, ":4: http.pipeline: no pipeline 'nowhere' under pipelines:");
    }

    [Theory]
    [InlineData("remote")]
    [InlineData("discard")]
    [InlineData("quarantine")]
    public void A_target_may_not_be_named_like_a_built_in_one(string name) =>
        SingleError($"targets:\n  {name}: {{ type: relay, host: smtp.example.net }}\n", $":2: targets.{name}: '{name}' is a built-in target and cannot be redefined");

    [Fact]
    public void A_table_file_that_does_not_exist_is_an_error()
    {
        var missing = Path.Combine(_dir, "missing.txt");
        SingleError($$"""
            pipelines:
              p:
                source:
                  - table: {{missing}}
                    deliver_to: [remote]
                default: { deliver_to: [remote] }
            """, $":4: pipelines.p.source[0].table: '{missing}' does not exist");
    }

    [Fact]
    public void Every_problem_is_reported_in_one_run()
    {
        var errors = Errors("""
            targets:
              archive: { url: https://archive.example.net/in }
            pipelines:
              p:
                chekcs: [spf]
                deliver_to: [mailboxes]
              q:
                reject: { code: 250 }
            """);
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Contains(":2: targets.archive.type: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(":5: pipelines.p.chekcs: unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("pipelines.p.deliver_to: no target 'mailboxes'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(":8: pipelines.q.reject.code:", StringComparison.Ordinal));
    }

    // ---- component errors, found when the pipelines are built

    private static IReadOnlyDictionary<string, MessagePipeline> Build(HermodConfiguration options)
    {
        using var resolver = new StubResolver(new DnsOptions { Servers = [IPEndPoint.Parse("127.0.0.1:9")], Timeout = TimeSpan.FromMilliseconds(200), Attempts = 1 }); // never queried
        var services = new ServiceCollection();
        services.AddSingleton(options.Hermod);
        services.AddSingleton<IDnsResolver>(resolver);
        services.AddLogging();
        services.AddHermodPolicy(options.Policy, options.Smtp.Limits.MaxHeaderSize);
        using var provider = services.BuildServiceProvider();
        var builder = provider.GetRequiredService<PipelineBuilder>();
        try
        {
            return builder.Build(4);
        }
        finally
        {
            foreach (var component in builder.Components.OfType<IDisposable>())
                component.Dispose();
        }
    }

    private IReadOnlyList<string> BuildErrors(string yaml) => Assert.Throws<ConfigException>(() => Build(Load(yaml))).Errors;

    private string SingleBuildError(string yaml, string expected)
    {
        var errors = BuildErrors(yaml);
        Assert.True(errors.Count == 1, $"expected one error, got:\n{string.Join("\n", errors)}");
        Assert.StartsWith(ConfigPath + ":", errors[0]);
        Assert.Contains(expected, errors[0]);
        return errors[0];
    }

    [Fact]
    public void An_unknown_check_lists_the_known_ones()
    {
        var error = SingleBuildError("""
            pipelines:
              p:
                checks: [spam_filter]
                deliver_to: [remote]
            """, ":3: pipelines.p.checks[0].spam_filter: no check named 'spam_filter' (known: ");
        var checks = new ComponentRegistry<ICheck>(BuiltInChecks.All);
        Assert.NotEmpty(checks.Names);
        Assert.All(checks.Names, name => Assert.Contains(name, error));
    }

    [Fact]
    public void An_unknown_modifier_lists_the_known_ones()
    {
        var error = SingleBuildError("""
            pipelines:
              p:
                modifiers:
                  - rewrite_everything: { pattern: x }
                deliver_to: [remote]
            """, ":4: pipelines.p.modifiers[0].rewrite_everything: no modifier named 'rewrite_everything' (known: ");
        Assert.Contains("alias", error);
        Assert.Contains("add_header", error);
    }

    [Fact]
    public void A_check_option_error_names_its_key()
    {
        SingleBuildError("""
            pipelines:
              p:
                checks:
                  - rate_limit: { by: moon }
                deliver_to: [remote]
            """, ":4: pipelines.p.checks[0].rate_limit.by: 'moon' is not one of client_ip, sender, auth_user");
        SingleBuildError("""
            pipelines:
              p:
                checks:
                  - spf: { reject_on_fial: true }
                deliver_to: [remote]
            """, ":4: pipelines.p.checks[0].spf.reject_on_fial: unknown key");
    }

    [Fact]
    public void Dnsbl_without_zones_is_refused()
    {
        SingleBuildError("""
            pipelines:
              p:
                checks: [dnsbl]
                deliver_to: [remote]
            """, ":3: pipelines.p.checks[0].dnsbl: dnsbl: zones: must not be empty");
    }

    [Fact]
    public void Checks_in_nested_blocks_are_built_and_checked_too()
    {
        SingleBuildError("""
            pipelines:
              p:
                source:
                  - match: [example.test]
                    destination:
                      - match: [example.org]
                        checks:
                          - rate_limit: { stage: data }
                        deliver_to: [remote]
                    default: { deliver_to: [remote] }
                default: { deliver_to: [remote] }
            """, ":8: pipelines.p.source[0].destination[0].checks[0].rate_limit.stage: 'data' is not one of mail, rcpt");
    }

    [Fact]
    public void A_destination_block_may_only_rewrite_recipients()
    {
        SingleBuildError("""
            pipelines:
              p:
                destination:
                  - match: [example.test]
                    modifiers:
                      - add_header: { name: X-Local, value: "yes" }
                    deliver_to: [remote]
                default: { deliver_to: [remote] }
            """, ":6: pipelines.p.destination[0].modifiers[0].add_header: a destination block may only rewrite recipients");
        SingleBuildError("""
            pipelines:
              p:
                destination:
                  - match: [example.test]
                    deliver_to: [remote]
                default:
                  modifiers:
                    - rewrite_sender: { pattern: "^(.*)@internal\\.test$", replacement: "$1@example.test" }
                  deliver_to: [remote]
            """, ":8: pipelines.p.default.modifiers[0].rewrite_sender: a destination block may only rewrite recipients");

        // Recipient rewrites are fine there, and the default beside source blocks is a source block: header changes are fine.
        var pipelines = Build(Load("""
            pipelines:
              p:
                source:
                  - match: [example.test]
                    destination:
                      - match: [example.org]
                        modifiers:
                          - remove_plus_address: { separator: "+" }
                        deliver_to: [remote]
                    default: { deliver_to: [remote] }
                default:
                  modifiers:
                    - add_header: { name: X-Outside, value: "yes" }
                  deliver_to: [remote]
            """));
        Assert.Single(pipelines["p"].Root.Source[0].Destination[0].Modifiers);
        Assert.Single(pipelines["p"].Root.Default!.Modifiers);
    }

    [Fact]
    public void A_bad_line_in_a_table_file_names_the_table_and_its_line()
    {
        var table = Path.Combine(_dir, "senders.txt");
        File.WriteAllText(table, "example.test\n# comment\nnot an address\n");
        var errors = BuildErrors($$"""
            pipelines:
              p:
                source:
                  - table: {{table}}
                    deliver_to: [remote]
                default: { deliver_to: [remote] }
            """);
        Assert.Equal($"{table}:3: pipelines.p.source[0].table: 'not an address' is not an address or a domain", Assert.Single(errors));
    }

    // ---- hermod check-config

    [Fact]
    public async Task Check_config_exits_2_listing_the_pipeline_errors_and_0_for_a_good_pipeline()
    {
        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, """
            smtp:
              listeners:
                - { name: mx, address: 127.0.0.1:0, pipeline: inbound }
            pipelines:
              inbound:
                checks:
                  - rate_limit: { by: moon }
                  - spam_filter
                deliver_to: [archive]
            """);
        var failed = await CliRunner.RunAsync(["check-config", "--config", bad]);
        Assert.Equal(2, failed.ExitCode);
        Assert.Matches($@"{Regex.Escape(bad)}:\d+: pipelines\.inbound\.deliver_to: no target 'archive'", failed.Stderr);
        Assert.DoesNotContain("configuration ok", failed.Stdout);

        // Bound, but the components refuse their options: found by building the pipelines.
        var components = Path.Combine(_dir, "components.yaml");
        await File.WriteAllTextAsync(components, """
            pipelines:
              inbound:
                checks:
                  - rate_limit: { by: moon }
                  - spam_filter
                deliver_to: [remote]
            """);
        var refused = await CliRunner.RunAsync(["check-config", "--config", components]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"{components}:4: pipelines.inbound.checks[0].rate_limit.by: 'moon' is not one of client_ip, sender, auth_user", refused.Stderr);
        Assert.Contains($"{components}:5: pipelines.inbound.checks[1].spam_filter: no check named 'spam_filter'", refused.Stderr);

        var good = Path.Combine(_dir, "good.yaml");
        await File.WriteAllTextAsync(good, FullConfig(Table()));
        var ok = await CliRunner.RunAsync(["check-config", "--config", good]);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("configuration ok: 2 SMTP listener(s), 2 pipeline(s), 3 target(s)", ok.Stdout);
    }
}
