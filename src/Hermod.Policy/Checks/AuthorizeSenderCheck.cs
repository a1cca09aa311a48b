using Hermod.Policy.Headers;

namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="AuthorizeSenderCheck"/>.</summary>
public sealed record AuthorizeSenderOptions
{
    /// <summary>
    /// Authenticated user → what it may send as: full addresses ("alice@example.org") or whole domains ("@example.org"
    /// or "example.org"). User names and entries compare case-insensitively.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Users { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Also allow the user's own name (its local part when the user name is an address) at any of <see cref="LocalDomains"/>.</summary>
    public bool SameLocalPart { get; init; }

    /// <summary>The domains <see cref="SameLocalPart"/> applies to.</summary>
    public IReadOnlyList<string> LocalDomains { get; init; } = [];

    /// <summary>Check the From header field at the body stage too (every address in it must be allowed).</summary>
    public bool CheckFromHeader { get; init; } = true;

    /// <summary>Let an authenticated user use the null reverse-path (MAIL FROM:&lt;&gt;).</summary>
    public bool AllowNullSender { get; init; } = true;

    /// <summary>Most bytes of the header block read at the body stage; a longer block is refused with 552 5.3.4.</summary>
    public int MaxHeaderBytes { get; init; } = 256 * 1024;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Users.Count == 0 && !SameLocalPart)
            problems.Add("users: must not be empty unless same_local_part is set");
        foreach (var (user, allowed) in Users)
        {
            if (string.IsNullOrWhiteSpace(user))
                problems.Add("users: a user name must not be empty");
            else if (allowed is null || allowed.Count == 0)
                problems.Add($"users.{user}: must list at least one address or domain");
            else if (allowed.Any(a => string.IsNullOrWhiteSpace(a) || a == "@"))
                problems.Add($"users.{user}: entries must be addresses or domains, not empty");
        }
        if (SameLocalPart && LocalDomains.Count == 0)
            problems.Add("local_domains: must not be empty when same_local_part is set");
        if (LocalDomains.Any(string.IsNullOrWhiteSpace))
            problems.Add("local_domains: entries must not be empty");
        if (MaxHeaderBytes < 1024)
            problems.Add("max_header_bytes: must be at least 1024");
        return problems;
    }
}

/// <summary>
/// Submission: the envelope sender (MAIL) and the From header addresses (body) must belong to the authenticated user;
/// else 553 5.7.1. Sessions without AUTH are left to <see cref="RequireAuthCheck"/>.
/// </summary>
public sealed class AuthorizeSenderCheck : ICheck
{
    private readonly AuthorizeSenderOptions _options;
    private readonly Dictionary<string, (HashSet<string> Addresses, HashSet<string> Domains)> _users = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _localDomains;

    public AuthorizeSenderCheck(AuthorizeSenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _options = options;
        foreach (var (user, allowed) in options.Users)
        {
            var addresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var domains = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var entry in allowed)
            {
                var trimmed = entry.Trim();
                if (trimmed.StartsWith('@'))
                    domains.Add(trimmed[1..]);
                else if (trimmed.Contains('@'))
                    addresses.Add(trimmed);
                else
                    domains.Add(trimmed);
            }
            _users[user] = (addresses, domains);
        }
        _localDomains = new HashSet<string>(options.LocalDomains.Select(d => d.Trim()), StringComparer.OrdinalIgnoreCase);
    }

    public string Name => "authorize_sender";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Mail || (stage == CheckStage.Body && _options.CheckFromHeader);

    public static CheckResult NotOwned(string address) => CheckResult.Reject($"Sender address <{address}> is not owned by the authenticated user", 553, new(5, 7, 1));

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.AuthUser is not { } user)
            return CheckResult.Accept;
        if (stage == CheckStage.Mail)
        {
            var sender = context.Sender ?? "";
            if (sender.Length == 0)
                return _options.AllowNullSender ? CheckResult.Accept : NotOwned("");
            return IsAllowed(user, sender) ? CheckResult.Accept : NotOwned(sender);
        }
        if (stage != CheckStage.Body || context.OpenBody is null)
            return CheckResult.Accept;
        IReadOnlyList<KeyValuePair<string, string>>? fields;
        var body = await context.OpenBody(cancellationToken);
        await using (body)
            fields = await HeaderReader.ReadAsync(body, _options.MaxHeaderBytes, cancellationToken);
        if (fields is null)
            return CheckResult.Reject("Message header too large", 552, new(5, 3, 4));
        foreach (var field in fields)
        {
            if (!field.Key.Equals("From", StringComparison.OrdinalIgnoreCase))
                continue;
            var addresses = HeaderReader.Addresses(field.Value);
            if (addresses.Count == 0)
                return CheckResult.Reject("From header has no address", 553, new(5, 7, 1));
            foreach (var address in addresses)
                if (!IsAllowed(user, address))
                    return CheckResult.Reject($"From header address <{CheckOptions.Sanitize(address, 100)}> is not owned by the authenticated user", 553, new(5, 7, 1));
        }
        return CheckResult.Accept;
    }

    /// <summary>Whether <paramref name="user"/> may use <paramref name="address"/> as a sender.</summary>
    public bool IsAllowed(string user, string address)
    {
        var domain = CheckOptions.DomainOf(address);
        if (domain.Length == 0)
            return false;
        if (_users.TryGetValue(user, out var allowed) && (allowed.Addresses.Contains(address) || allowed.Domains.Contains(domain)))
            return true;
        return _options.SameLocalPart
            && _localDomains.Contains(domain)
            && CheckOptions.LocalPartOf(address).Equals(CheckOptions.LocalPartOf(user), StringComparison.OrdinalIgnoreCase);
    }
}
