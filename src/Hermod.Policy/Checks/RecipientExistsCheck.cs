namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="RecipientExistsCheck"/>.</summary>
public sealed record RecipientExistsOptions
{
    /// <summary>Known recipients: full addresses, or "@example.org" for every address of a domain (catch-all).</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>A table file with more entries like <see cref="Addresses"/>, one per line; '#' starts a comment. Read when the check is built.</summary>
    public string? TableFile { get; init; }

    /// <summary>When not empty, only recipients at these domains are checked; others (relayed mail) pass.</summary>
    public IReadOnlyList<string> Domains { get; init; } = [];

    /// <summary>A subaddress separator ("+"): "alice+tag@example.org" is looked up as "alice@example.org" too.</summary>
    public string? DetailSeparator { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Addresses.Count == 0 && TableFile is null)
            problems.Add("addresses: must not be empty unless table is set");
        foreach (var address in Addresses)
            if (!IsEntry(address))
                problems.Add($"addresses: '{address}' is not an address or @domain");
        if (TableFile is not null && !File.Exists(TableFile))
            problems.Add($"table: '{TableFile}' does not exist");
        if (Domains.Any(string.IsNullOrWhiteSpace))
            problems.Add("domains: entries must not be empty");
        if (DetailSeparator is { Length: 0 } || DetailSeparator?.Contains('@') == true)
            problems.Add("detail_separator: must be non-empty and must not contain '@'");
        return problems;
    }

    internal static bool IsEntry(string entry)
    {
        var at = entry.LastIndexOf('@');
        return at >= 0 && at < entry.Length - 1 && !entry.Any(char.IsWhiteSpace);
    }
}

/// <summary>RCPT: the recipient must be a known local address; else 550 5.1.1 "No such user".</summary>
public sealed class RecipientExistsCheck : ICheck
{
    public static readonly CheckResult NoSuchUser = CheckResult.Reject("No such user", 550, new(5, 1, 1));

    private readonly HashSet<string> _addresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _domains;
    private readonly string? _separator;

    public RecipientExistsCheck(RecipientExistsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        foreach (var address in options.Addresses)
            _addresses.Add(address);
        if (options.TableFile is not null)
        {
            var number = 0;
            foreach (var raw in File.ReadLines(options.TableFile))
            {
                number++;
                var hash = raw.IndexOf('#');
                var line = (hash >= 0 ? raw[..hash] : raw).Trim();
                if (line.Length == 0)
                    continue;
                if (!RecipientExistsOptions.IsEntry(line))
                    throw new ArgumentException($"{Name}: table {options.TableFile} line {number}: '{line}' is not an address or @domain");
                _addresses.Add(line);
            }
        }
        _domains = new HashSet<string>(options.Domains, StringComparer.OrdinalIgnoreCase);
        _separator = options.DetailSeparator;
    }

    public string Name => "recipient_exists";

    /// <summary>Entries known (addresses and catch-all domains).</summary>
    public int Count => _addresses.Count;

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Rcpt;

    public Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Recipient is not { } recipient)
            return Task.FromResult(CheckResult.Accept);
        return Task.FromResult(Exists(recipient) ? CheckResult.Accept : NoSuchUser);
    }

    public bool Exists(string recipient)
    {
        var domain = CheckOptions.DomainOf(recipient);
        if (_domains.Count > 0 && !_domains.Contains(domain))
            return true; // not ours to judge
        if (_addresses.Contains(recipient) || _addresses.Contains("@" + domain))
            return true;
        if (CheckOptions.LocalPartOf(recipient).Equals("postmaster", StringComparison.OrdinalIgnoreCase))
            return true; // RFC 5321 section 4.5.1: always accepted
        if (_separator is null)
            return false;
        var local = CheckOptions.LocalPartOf(recipient);
        var cut = local.IndexOf(_separator, StringComparison.Ordinal);
        return cut > 0 && _addresses.Contains(string.Concat(local.AsSpan(0, cut), "@", domain));
    }
}
