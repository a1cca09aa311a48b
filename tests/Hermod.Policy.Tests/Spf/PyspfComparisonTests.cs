using System.Net;
using System.Text.Json;
using Hermod.Dns;
using Hermod.Policy.Spf;
using Hermod.TestKit;
using Xunit.Abstractions;

namespace Hermod.Policy.Tests.Spf;

/// <summary>
/// Hermod and pyspf (Debian python3-spf) ask the same real dnsmasq (Hermod through its <see cref="StubResolver"/>,
/// pyspf through its own DNS library) and must give the same result, and the result we expect, for every scenario.
/// </summary>
public sealed class PyspfComparisonTests(ITestOutputHelper output)
{
    private const string Receiver = "mx.receiver.test";

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>The zone: names under spf.test (dnsmasq answers NXDOMAIN for the rest of it).</summary>
    private static readonly string[] Records =
    [
        "--local=/spf.test/",
        "--local=/2.0.192.in-addr.arpa/",
        "--txt-record=pass.spf.test,v=spf1 ip4:192.0.2.0/24 -all",
        "--txt-record=fail.spf.test,v=spf1 ip4:192.0.2.1 -all exp=exp.spf.test",
        "--txt-record=exp.spf.test,%{i} is not one of the designated mail servers of %{d} (sender %{S} via %{h}; %{r})",
        "--txt-record=soft.spf.test,v=spf1 ip4:192.0.2.1 ~all",
        "--txt-record=neutral.spf.test,v=spf1 ?all",
        "--txt-record=default.spf.test,v=spf1 ip4:10.0.0.1",
        "--txt-record=a.spf.test,v=spf1 a -all",
        "--host-record=a.spf.test,192.0.2.10",
        "--txt-record=acidr.spf.test,v=spf1 a:host1.spf.test/24 -all",
        "--host-record=host1.spf.test,192.0.2.200",
        "--txt-record=mx.spf.test,v=spf1 mx -all",
        "--mx-host=mx.spf.test,mail1.spf.test,10",
        "--host-record=mail1.spf.test,192.0.2.10",
        "--txt-record=mx6.spf.test,v=spf1 mx/24//64 -all",
        "--mx-host=mx6.spf.test,mail6.spf.test,10",
        "--host-record=mail6.spf.test,2001:db8:1::1",
        "--txt-record=inc.spf.test,v=spf1 include:inc2.spf.test -all",
        "--txt-record=inc2.spf.test,v=spf1 include:pass.spf.test ~all",
        "--txt-record=incnone.spf.test,v=spf1 include:nothing.spf.test -all",
        "--txt-record=red.spf.test,v=spf1 redirect=fail.spf.test",
        "--txt-record=rednone.spf.test,v=spf1 redirect=nothing.spf.test",
        "--txt-record=ex.spf.test,v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
        "--host-record=10.2.0.192.alice._spf.ex.spf.test,127.0.0.2",
        "--txt-record=limit.spf.test,v=spf1 a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test -all",
        "--txt-record=ten.spf.test,v=spf1 a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a:host1.spf.test a -all",
        "--host-record=ten.spf.test,192.0.2.10",
        "--txt-record=void.spf.test,v=spf1 a:void1.spf.test a:void2.spf.test a:void3.spf.test -all",
        "--txt-record=void2.spf.test,v=spf1 a:void1.spf.test a:void2.spf.test ip4:192.0.2.10 -all",
        "--txt-record=ip6.spf.test,v=spf1 ip6:2001:db8::/32 -all",
        "--txt-record=ptr.spf.test,v=spf1 ptr:spf.test -all",
        "--txt-record=two.spf.test,v=spf1 +all",
        "--txt-record=two.spf.test,v=spf1 -all",
        "--txt-record=syntax.spf.test,v=spf1 ip4:192.0.2.300 -all",
        "--txt-record=nospf.spf.test,hello world",
    ];

    private sealed record Scenario(string Name, string Ip, string Sender, string Helo, string Expected);

    private static readonly Scenario[] Scenarios =
    [
        new("pass ip4 cidr", "192.0.2.10", "a@pass.spf.test", "h.example", "pass"),
        new("fail with exp= macros", "192.0.2.10", "Bob.Smith@fail.spf.test", "helo.example", "fail"),
        new("softfail", "192.0.2.10", "a@soft.spf.test", "h.example", "softfail"),
        new("neutral ?all", "192.0.2.10", "a@neutral.spf.test", "h.example", "neutral"),
        new("neutral by default", "192.0.2.10", "a@default.spf.test", "h.example", "neutral"),
        new("a", "192.0.2.10", "a@a.spf.test", "h.example", "pass"),
        new("a:host/24", "192.0.2.10", "a@acidr.spf.test", "h.example", "pass"),
        new("mx", "192.0.2.10", "a@mx.spf.test", "h.example", "pass"),
        new("mx miss", "192.0.2.11", "a@mx.spf.test", "h.example", "fail"),
        new("mx//64 ip6", "2001:db8:1::beef", "a@mx6.spf.test", "h.example", "pass"),
        new("include chain pass", "192.0.2.10", "a@inc.spf.test", "h.example", "pass"),
        new("include chain softfail inside is no match", "198.51.100.1", "a@inc.spf.test", "h.example", "fail"),
        new("include of no record", "192.0.2.10", "a@incnone.spf.test", "h.example", "permerror"),
        new("redirect", "198.51.100.1", "a@red.spf.test", "h.example", "fail"),
        new("redirect to no record", "192.0.2.10", "a@rednone.spf.test", "h.example", "permerror"),
        new("exists with macros, listed", "192.0.2.10", "alice@ex.spf.test", "h.example", "pass"),
        new("exists with macros, not listed", "192.0.2.10", "bob@ex.spf.test", "h.example", "fail"),
        new("11 lookups", "192.0.2.10", "a@limit.spf.test", "h.example", "permerror"),
        new("10 lookups", "192.0.2.10", "a@ten.spf.test", "h.example", "pass"),
        new("3 void lookups", "192.0.2.10", "a@void.spf.test", "h.example", "permerror"),
        new("2 void lookups", "192.0.2.10", "a@void2.spf.test", "h.example", "pass"),
        new("ip6 pass", "2001:db8::25", "a@ip6.spf.test", "h.example", "pass"),
        new("ip6 record, ip4 client", "192.0.2.10", "a@ip6.spf.test", "h.example", "fail"),
        new("ptr", "192.0.2.10", "a@ptr.spf.test", "h.example", "pass"),
        new("ptr miss", "192.0.2.99", "a@ptr.spf.test", "h.example", "fail"),
        new("two records", "192.0.2.10", "a@two.spf.test", "h.example", "permerror"),
        new("syntax error", "192.0.2.10", "a@syntax.spf.test", "h.example", "permerror"),
        new("no SPF record", "192.0.2.10", "a@nospf.spf.test", "h.example", "none"),
        new("no such domain", "192.0.2.10", "a@nowhere.spf.test", "h.example", "none"),
        new("empty MAIL FROM checks HELO", "192.0.2.10", "", "pass.spf.test", "pass"),
        new("IPv4-mapped IPv6 client", "::ffff:192.0.2.10", "a@pass.spf.test", "h.example", "pass"),
    ];

    private sealed record PyspfAnswer(string Result, string? Explanation, string? Mechanism);

    [Fact]
    public async Task HermodAgreesWithPyspfOnARealDnsServer()
    {
        await Peers.PythonWithAsync("spf", "python3-spf");
        await using var dnsmasq = await Dnsmasq.StartAsync(Records, "pass.spf.test", DnsRecordType.TXT);

        var input = JsonSerializer.Serialize(Scenarios.Select(s => new { ip = s.Ip, sender = s.Sender, helo = s.Helo }));
        var json = await SpfPeers.RunScriptAsync("pyspf_check.py", [dnsmasq.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Receiver], input);
        var reference = JsonSerializer.Deserialize<List<PyspfAnswer>>(json, Json)!;
        Assert.Equal(Scenarios.Length, reference.Count);

        using var resolver = new StubResolver(new DnsOptions { Servers = [dnsmasq.EndPoint], MaxCacheEntries = 0, Timeout = TimeSpan.FromSeconds(2) });
        var evaluator = new SpfEvaluator(resolver, new SpfOptions { ReceiverDomain = Receiver });
        var problems = new List<string>();
        for (var i = 0; i < Scenarios.Length; i++)
        {
            var s = Scenarios[i];
            var hermod = await evaluator.CheckMailFromAsync(IPAddress.Parse(s.Ip), s.Sender, s.Helo);
            var py = reference[i];
            output.WriteLine($"{s.Name}: hermod {hermod.Keyword} ({hermod.Mechanism}; {hermod.Problem}) exp=\"{hermod.Explanation}\" | pyspf {py.Result} ({py.Mechanism}) exp=\"{py.Explanation}\"");
            if (hermod.Keyword != py.Result || hermod.Keyword != s.Expected)
                problems.Add($"{s.Name}: expected {s.Expected}, Hermod {hermod.Keyword} ({hermod.Problem}), pyspf {py.Result}");
            else if (hermod.Explanation != py.Explanation)
                problems.Add($"{s.Name}: explanation: Hermod \"{hermod.Explanation}\", pyspf \"{py.Explanation}\"");
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems) + "\ndnsmasq log:\n" + dnsmasq.Log);
        Assert.Equal(
            "192.0.2.10 is not one of the designated mail servers of fail.spf.test (sender Bob.Smith%40fail.spf.test via helo.example; mx.receiver.test)",
            (await evaluator.CheckMailFromAsync(IPAddress.Parse("192.0.2.10"), "Bob.Smith@fail.spf.test", "helo.example")).Explanation);
    }
}
