using Hermod.Core.Configuration;
using Hermod.Core.Extensions;
using Hermod.Dns;

namespace Hermod.Policy.Checks;

/// <summary>The built-in checks and what they need from the services.</summary>
public static class BuiltInChecks
{
    /// <summary>The built-in checks under their names, each reading its options section (keys as in config/hermod.reference.yaml).</summary>
    public static IReadOnlyList<ComponentRegistration<ICheck>> All { get; } =
    [
        new("require_tls", c =>
        {
            c.Config.Known("exempt");
            return new RequireTlsCheck(new RequireTlsOptions { Exempt = c.Config.Strings("exempt") ?? [] });
        }),
        new("require_auth", c =>
        {
            c.Config.Known("text");
            var options = new RequireAuthOptions();
            return new RequireAuthCheck(c.Config.String("text") is { } text ? options with { Text = text } : options);
        }),
        new("authorize_sender", c =>
        {
            var k = c.Config;
            k.Known("same_local_part", "local_domains", "check_from_header", "allow_null_sender", "max_header_size");
            var o = new AuthorizeSenderOptions();
            return new AuthorizeSenderCheck(o with
            {
                SameLocalPart = k.Bool("same_local_part") ?? o.SameLocalPart,
                LocalDomains = k.Strings("local_domains") ?? o.LocalDomains,
                CheckFromHeader = k.Bool("check_from_header") ?? o.CheckFromHeader,
                AllowNullSender = k.Bool("allow_null_sender") ?? o.AllowNullSender,
                MaxHeaderBytes = (int)(k.Size("max_header_size", 1024, 64L << 20) ?? o.MaxHeaderBytes),
            });
        }),
        new("recipient_exists", c =>
        {
            var k = c.Config;
            k.Known("addresses", "table", "domains", "detail_separator");
            return new RecipientExistsCheck(new RecipientExistsOptions
            {
                Addresses = k.Strings("addresses") ?? [],
                TableFile = k.String("table"),
                Domains = k.Strings("domains") ?? [],
                DetailSeparator = k.String("detail_separator"),
            });
        }),
        new("spf", c =>
        {
            var k = c.Config;
            k.Known("authserv_id", "reject_on_fail", "tempfail_on_temperror", "reject_on_permerror", "add_received_spf");
            var o = new SpfCheckOptions();
            return new SpfCheck(Dns(c), o with
            {
                AuthservId = k.String("authserv_id") ?? Hostname(c),
                RejectOnFail = k.Bool("reject_on_fail") ?? o.RejectOnFail,
                TempFailOnTempError = k.Bool("tempfail_on_temperror") ?? o.TempFailOnTempError,
                RejectOnPermError = k.Bool("reject_on_permerror") ?? o.RejectOnPermError,
                AddReceivedSpf = k.Bool("add_received_spf") ?? o.AddReceivedSpf,
            });
        }),
        new("dkim_verify", c =>
        {
            var k = c.Config;
            k.Known("authserv_id", "required", "tempfail_on_temperror", "max_header_size");
            var o = new DkimVerifyOptions();
            return new DkimVerifyCheck(Dns(c), o with
            {
                AuthservId = k.String("authserv_id") ?? Hostname(c),
                Required = k.Strings("required") ?? o.Required,
                TempFailOnTempError = k.Bool("tempfail_on_temperror") ?? o.TempFailOnTempError,
                MaxHeaderBytes = (int)(k.Size("max_header_size", 1024, 64L << 20) ?? o.MaxHeaderBytes),
            }, Time(c));
        }),
        new("dnsbl", c =>
        {
            var k = c.Config;
            k.Known("zones", "fail_open", "fetch_reason", "ipv6");
            var o = new DnsblOptions();
            return new DnsblCheck(Dns(c), o with
            {
                Zones = k.Strings("zones") ?? o.Zones,
                FailOpen = k.Bool("fail_open") ?? o.FailOpen,
                FetchReason = k.Bool("fetch_reason") ?? o.FetchReason,
                Ipv6 = k.Bool("ipv6") ?? o.Ipv6,
            });
        }),
        new("fcrdns", c =>
        {
            var k = c.Config;
            k.Known("authserv_id", "reject_on_fail", "tempfail_on_dns_error", "max_names");
            var o = new FcrdnsOptions();
            return new FcrdnsCheck(Dns(c), o with
            {
                AuthservId = k.String("authserv_id") ?? Hostname(c),
                RejectOnFail = k.Bool("reject_on_fail") ?? o.RejectOnFail,
                TempFailOnDnsError = k.Bool("tempfail_on_dns_error") ?? o.TempFailOnDnsError,
                MaxNames = k.Int("max_names", 1, 100) ?? o.MaxNames,
            });
        }),
        new("rate_limit", c =>
        {
            var k = c.Config;
            k.Known("by", "stage", "rate", "per", "burst", "max_buckets", "ipv6_prefix_length");
            var o = new RateLimitOptions();
            var stage = k.String("stage");
            if (stage is not null and not ("mail" or "rcpt"))
                k.Error("stage", $"'{stage}' is not one of mail, rcpt");
            var by = k.String("by");
            if (by is not null and not ("client_ip" or "sender" or "auth_user"))
                k.Error("by", $"'{by}' is not one of client_ip, sender, auth_user");
            return new RateLimitCheck(o with
            {
                By = by switch { "sender" => RateLimitKey.Sender, "auth_user" => RateLimitKey.AuthUser, _ => RateLimitKey.ClientIp },
                Stage = stage == "rcpt" ? CheckStage.Rcpt : CheckStage.Mail,
                Rate = k.Int("rate", 1, 1_000_000) ?? o.Rate,
                Per = k.Duration("per") ?? o.Per,
                Burst = k.Int("burst", 1, 1_000_000) ?? o.Burst,
                MaxBuckets = k.Int("max_buckets", 1, 10_000_000) ?? o.MaxBuckets,
                Ipv6PrefixLength = k.Int("ipv6_prefix_length", 1, 128) ?? o.Ipv6PrefixLength,
            }, Time(c));
        }),
    ];

    private static IDnsResolver Dns(ComponentContext c) => Service<IDnsResolver>(c);

    private static TimeProvider Time(ComponentContext c) => (TimeProvider?)c.Services.GetService(typeof(TimeProvider)) ?? TimeProvider.System;

    private static string Hostname(ComponentContext c) => Service<HermodOptions>(c).Hostname;

    private static T Service<T>(ComponentContext c) where T : class =>
        (T?)c.Services.GetService(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered");
}
