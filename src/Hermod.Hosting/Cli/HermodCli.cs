using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Hermod.Hosting.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Cli;

/// <summary>The command line: serve, check-config, hash-password, queue list / show.</summary>
public static class HermodCli
{
    public const int ConfigError = 2;

    private static readonly Option<string?> ConfigOption = new("--config", "-c")
    {
        Description = "Path of hermod.yaml (default: none, embedded defaults; HERMOD_* environment variables override keys)",
        Recursive = true,
    };

    /// <param name="services">
    /// Registers the checks, modifiers, stream processors and target types of the hosting program (<c>AddCheck</c>,
    /// <c>AddModifier</c>, <c>AddStreamProcessor</c>, <c>AddTarget</c>) and the services they take; see
    /// <see cref="HermodHost.Create(Configuration.HermodConfiguration, Action{IServiceCollection}?, Action{Microsoft.Extensions.Logging.ILoggingBuilder}?)"/>.
    /// </param>
    public static async Task<int> RunAsync(string[] args, Action<IServiceCollection>? services = null)
    {
        var root = new RootCommand("Hermod mail transfer agent") { ConfigOption };
        root.Subcommands.Add(Serve(services));
        root.Subcommands.Add(CheckConfig(services));
        root.Subcommands.Add(HashPassword());
        root.Subcommands.Add(Queue());
        root.Subcommands.Add(ApiKey());
        root.Subcommands.Add(Dkim());
        return await root.Parse(args).InvokeAsync();
    }

    private static HermodConfiguration? LoadConfig(ParseResult parse)
    {
        var path = parse.GetValue(ConfigOption);
        try
        {
            return ConfigLoader.Load(path);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"hermod: {e.Message}");
            return null;
        }
    }

    private static Command Serve(Action<IServiceCollection>? services)
    {
        var command = new Command("serve", "Run the SMTP listeners and the HTTP API until stopped (Ctrl+C / SIGTERM)");
        command.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            HermodHost host;
            try
            {
                host = HermodHost.Create(config, services);
                await host.StartAsync(ct);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"hermod: {e.Message}");
                return ConfigError;
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"hermod: cannot start: {DescribeBindFailure(config, e)}");
                return 1;
            }
            catch (Exception e) when (e is not OperationCanceledException) // e.g. a component's start hook
            {
                Console.Error.WriteLine($"hermod: cannot start: {e.Message}");
                return 1;
            }
            await using (host)
                await host.WaitForShutdownAsync();
            return 0;
        });
        return command;
    }

    /// <summary>Kestrel names the address as an http:// URL whatever listens there: say which listener it was.</summary>
    private static string DescribeBindFailure(HermodConfiguration config, IOException e)
    {
        var reason = e.InnerException?.Message ?? e.Message;
        foreach (var listener in config.Smtp.Listeners)
            if (e.Message.Contains(listener.Address.ToString(), StringComparison.Ordinal))
                return $"SMTP listener {listener.Name} cannot listen on {listener.Address}: {reason}";
        if (e.Message.Contains(config.Http.Address.ToString(), StringComparison.Ordinal))
            return $"HTTP cannot listen on {config.Http.Address}: {reason}";
        return e.Message;
    }

    private static Command CheckConfig(Action<IServiceCollection>? services)
    {
        var command = new Command("check-config", "Validate the configuration and exit (0: valid)");
        command.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            try
            {
                await HermodHost.ValidateAsync(config, services);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"hermod: {e.Message}");
                return ConfigError;
            }
            foreach (var warning in config.Warnings)
                Console.Error.WriteLine($"hermod: warning: {warning}");
            Console.WriteLine($"configuration ok: {config.Smtp.Listeners.Count} SMTP listener(s), {config.Policy.Pipelines.Count} pipeline(s), " +
                $"{config.Delivery.Targets.Count} target(s), HTTP on {config.Http.Address}, data in {Path.GetFullPath(config.Hermod.DataDir)}");
            return 0;
        });
        return command;
    }

    private static Command HashPassword()
    {
        var command = new Command("hash-password", "Read a password from standard input (first line) and print its hash for users[].password_hash");
        command.SetAction(_ =>
        {
            var password = Console.In.ReadLine();
            if (string.IsNullOrEmpty(password))
            {
                Console.Error.WriteLine("hermod: no password on standard input");
                return 1;
            }
            Console.WriteLine(PasswordHasher.Hash(password));
            return 0;
        });
        return command;
    }

    private static Command Queue()
    {
        var queue = new Command("queue", "Inspect the queue");
        var json = new Option<bool>("--json") { Description = "JSON instead of a table" };
        var state = new Option<string?>("--state") { Description = "Only messages with a recipient in this state (queued, inflight, delivered, deferred, failed, cancelled, held)" };
        var limit = new Option<int>("--limit") { Description = "At most this many messages", DefaultValueFactory = _ => 1_000_000 };
        var list = new Command("list", "List queued messages: id, sender, recipients, size, state, age") { json, state, limit };
        list.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            DeliveryState? filter = null;
            if (parse.GetValue(state) is { } s)
            {
                if (!Enum.TryParse<DeliveryState>(s, true, out var parsed) || !Enum.IsDefined(parsed))
                {
                    Console.Error.WriteLine($"hermod: --state: '{s}' is not one of queued, inflight, delivered, deferred, failed, cancelled, held");
                    return 1;
                }
                filter = parsed;
            }
            await using var storage = OpenStorage(config);
            var messages = await storage.GetRequiredService<IMessageStore>().ListAsync(filter, parse.GetValue(limit), ct);
            if (parse.GetValue(json))
                WriteJson(messages);
            else
                WriteTable(messages);
            return 0;
        });

        var id = new Argument<string>("id") { Description = "Queue id" };
        var raw = new Option<bool>("--raw") { Description = "Only the stored message, byte-exact, without the envelope" };
        var show = new Command("show", "Show a message: its envelope, then the stored message byte-exact") { id, raw };
        show.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            await using var storage = OpenStorage(config);
            var store = storage.GetRequiredService<IMessageStore>();
            var message = await store.GetAsync(parse.GetValue(id)!, ct);
            if (message is null)
            {
                Console.Error.WriteLine($"hermod: no message {parse.GetValue(id)}");
                return 1;
            }
            await using var stdout = Console.OpenStandardOutput();
            if (!parse.GetValue(raw))
            {
                var env = message.Envelope;
                var header = new System.Text.StringBuilder();
                header.Append(CultureInfo.InvariantCulture, $"id: {env.Id}\nsender: <{env.Sender}>\nsize: {message.Size}\ncreated: {message.Created:O}\n");
                header.Append(CultureInfo.InvariantCulture, $"source: {env.Source.Listener} [{env.Source.ClientAddress}] helo={env.Source.Helo}");
                header.Append(env.Source.AuthUser is null ? "" : $" auth={env.Source.AuthUser}").Append(env.Source.TlsProtocol is null ? "" : $" tls={env.Source.TlsProtocol}").Append('\n');
                header.Append(CultureInfo.InvariantCulture, $"body: {(env.Body == BodyType.EightBitMime ? "8BITMIME" : "7BIT")}{(env.SmtpUtf8 ? " SMTPUTF8" : "")}");
                header.Append(env.Ret == DsnReturn.Default ? "" : $" ret={env.Ret}").Append(env.EnvelopeId is null ? "" : $" envid={env.EnvelopeId}").Append('\n');
                foreach (var e in await storage.GetRequiredService<IApiStore>().EventsAsync(env.Id, null, 0, 1000, ct))
                    if (e.Type == "quarantined")
                        header.Append(CultureInfo.InvariantCulture, $"quarantined: {e.Detail}\n");
                foreach (var d in message.Deliveries)
                {
                    header.Append(CultureInfo.InvariantCulture, $"recipient: <{d.Recipient}> {StateText(d.State)} attempts={d.Attempts}");
                    header.Append(d.Node is null ? "" : $" node={d.Node}");
                    header.Append(d.Notify == DsnNotify.Default ? "" : $" notify={d.Notify}").Append(d.OriginalRecipient is null ? "" : $" orcpt={d.OriginalRecipient}");
                    header.Append(d.State == DeliveryState.Deferred && d.NextAttempt is { } next ? $" next={next:O}" : "").Append(d.LastReply is { } last ? $" last=\"{last}\"" : "").Append('\n');
                }
                header.Append('\n');
                await stdout.WriteAsync(System.Text.Encoding.UTF8.GetBytes(header.ToString()), ct);
            }
            await store.CopyContentAsync(message.Envelope.Id, stdout, ct);
            return 0;
        });

        var retryId = new Argument<string?>("id") { Description = "Queue id", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Every queued and deferred message" };
        var retry = new Command("retry", "Make a message's queued and deferred recipients due now (or every message's with --all)") { retryId, all };
        retry.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            var target = parse.GetValue(retryId);
            if ((target is null) == !parse.GetValue(all))
            {
                Console.Error.WriteLine("hermod: queue retry: give a queue id or --all");
                return 1;
            }
            await using var storage = OpenStorage(config);
            var count = await storage.GetRequiredService<IDeliveryQueue>().RetryNowAsync(target, ct);
            Console.WriteLine($"{count} recipient(s) due now");
            return target is not null && count == 0 ? 1 : 0;
        });

        var deleteId = new Argument<string>("id") { Description = "Queue id" };
        var delete = new Command("delete", "Cancel a message's recipients that are still queued or deferred") { deleteId };
        delete.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            await using var storage = OpenStorage(config);
            var count = await storage.GetRequiredService<IDeliveryQueue>().CancelAsync(parse.GetValue(deleteId)!, ct);
            Console.WriteLine($"{count} recipient(s) cancelled");
            return count == 0 ? 1 : 0;
        });

        queue.Subcommands.Add(list);
        queue.Subcommands.Add(show);
        queue.Subcommands.Add(retry);
        queue.Subcommands.Add(delete);

        var releaseId = new Argument<string>("id") { Description = "Queue id" };
        var release = new Command("release", "Release a quarantined message: its recipients go on to the targets they had (due now)") { releaseId };
        release.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            await using var storage = OpenStorage(config);
            var count = await storage.GetRequiredService<IDeliveryQueue>().ReleaseAsync(parse.GetValue(releaseId)!, ct);
            Console.WriteLine($"{count} recipient(s) released");
            return count == 0 ? 1 : 0;
        });
        queue.Subcommands.Add(release);
        return queue;
    }

    private static Command ApiKey()
    {
        var apikey = new Command("apikey", "Manage API keys of the HTTP API");
        var tenant = new Option<string>("--tenant") { Description = "The tenant the key belongs to (it sees only its own messages)", Required = true };
        var create = new Command("create", "Make a key; it is printed once, alone on the last line (only its hash is stored)") { tenant };
        create.SetAction(async (parse, ct) =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            var name = parse.GetValue(tenant)!;
            if (name.Length == 0 || name.Length > 100 || name.Any(char.IsControl))
            {
                Console.Error.WriteLine("hermod: --tenant: 1 to 100 printable characters");
                return 1;
            }
            await using var storage = OpenStorage(config);
            var key = await storage.GetRequiredService<IApiStore>().CreateApiKeyAsync(name, ct);
            Console.WriteLine($"API key for tenant {name} (shown only now; store it safely):");
            Console.WriteLine(key);
            return 0;
        });
        apikey.Subcommands.Add(create);
        return apikey;
    }

    private static Command Dkim()
    {
        var dkim = new Command("dkim", "DKIM signing keys");
        var domain = new Option<string>("--domain") { Description = "The signing domain (d=)", Required = true };
        var selector = new Option<string>("--selector") { Description = "The selector (s=)", Required = true };
        var algorithm = new Option<string>("--algorithm") { Description = "rsa2048 or ed25519", DefaultValueFactory = _ => "rsa2048" };
        var dir = new Option<string?>("--dir") { Description = "Where to write the private key (default: data_dir/dkim)" };
        var keygen = new Command("keygen", "Write a new private key (PEM, mode 0600) and print the DNS TXT record to publish") { domain, selector, algorithm, dir };
        keygen.SetAction(parse =>
        {
            if (LoadConfig(parse) is not { } config)
                return ConfigError;
            if (!Hermod.Policy.Dkim.DkimKeys.TryParseAlgorithm(parse.GetValue(algorithm)!, out var kind))
            {
                Console.Error.WriteLine($"hermod: --algorithm: '{parse.GetValue(algorithm)}' is not rsa2048 or ed25519");
                return 1;
            }
            var target = parse.GetValue(dir) ?? Path.Combine(config.Hermod.DataDir, "dkim");
            Directory.CreateDirectory(target);
            try
            {
                var key = Hermod.Policy.Dkim.DkimKeys.Generate(kind, parse.GetValue(domain)!, parse.GetValue(selector)!, target);
                Console.WriteLine($"private key: {key.PrivateKeyPath}");
                Console.WriteLine($"publish this TXT record at {key.RecordName}:");
                Console.WriteLine(key.RecordText);
                return 0;
            }
            catch (Exception e) when (e is IOException or ArgumentException)
            {
                Console.Error.WriteLine($"hermod: {e.Message}");
                return 1;
            }
        });
        dkim.Subcommands.Add(keygen);
        return dkim;
    }

    /// <summary>
    /// The configured store as the command line opens it (whichever provider storage: names): a server may be running
    /// on it, so nothing is recovered (its work is in progress, not left over).
    /// </summary>
    private static ServiceProvider OpenStorage(HermodConfiguration config)
    {
        var services = new ServiceCollection();
        services.AddSingleton(config.Hermod);
        config.Storage.AddStore(services, recover: false);
        return services.BuildServiceProvider();
    }

    private static string StateText(DeliveryState state) => state.ToString().ToLowerInvariant();

    /// <summary>One state for a message: its recipients' common state, or "mixed".</summary>
    private static string MessageState(StoredMessage m) =>
        m.Deliveries.Select(d => d.State).Distinct().ToList() is [var only] ? StateText(only) : "mixed";

    private static void WriteTable(IReadOnlyList<StoredMessage> messages)
    {
        var now = DateTimeOffset.UtcNow;
        Console.WriteLine($"{"ID",-20} {"AGE",8} {"SIZE",10} {"STATE",-9} SENDER -> RECIPIENTS");
        foreach (var m in messages)
        {
            var sender = m.Envelope.Sender.Length == 0 ? "<>" : m.Envelope.Sender;
            Console.WriteLine($"{m.Envelope.Id,-20} {Age(now - m.Created),8} {m.Size,10} {MessageState(m),-9} {sender} -> {string.Join(", ", m.Deliveries.Select(d => d.Node is null ? d.Recipient : $"{d.Recipient} (in flight on {d.Node})"))}");
        }
        Console.WriteLine($"{messages.Count} message(s)");
    }

    private static string Age(TimeSpan age) =>
        age.TotalDays >= 1 ? $"{(int)age.TotalDays}d" : age.TotalHours >= 1 ? $"{(int)age.TotalHours}h" : age.TotalMinutes >= 1 ? $"{(int)age.TotalMinutes}m" : $"{(int)age.TotalSeconds}s";

    private static void WriteJson(IReadOnlyList<StoredMessage> messages)
    {
        var now = DateTimeOffset.UtcNow;
        using var stdout = Console.OpenStandardOutput();
        using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        writer.WriteStartArray();
        foreach (var m in messages)
        {
            writer.WriteStartObject();
            writer.WriteString("id", m.Envelope.Id);
            writer.WriteString("sender", m.Envelope.Sender);
            writer.WriteStartArray("recipients");
            foreach (var d in m.Deliveries)
            {
                writer.WriteStartObject();
                writer.WriteString("address", d.Recipient);
                writer.WriteString("state", StateText(d.State));
                writer.WriteNumber("attempts", d.Attempts);
                if (d.NextAttempt is { } next)
                    writer.WriteString("next_attempt", next);
                if (d.LastReply is { } last)
                    writer.WriteString("last_reply", last.ToString());
                if (d.Node is { } node)
                    writer.WriteString("node", node);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteNumber("size", m.Size);
            writer.WriteString("state", MessageState(m));
            writer.WriteString("created", m.Created);
            writer.WriteNumber("age_seconds", (long)(now - m.Created).TotalSeconds);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.Flush();
        stdout.WriteByte((byte)'\n');
    }
}
