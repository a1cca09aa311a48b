namespace Hermod.Policy.Spf;

/// <summary>Settings of an <see cref="SpfEvaluator"/> (limits from RFC 7208 section 4.6.4 and 11.1).</summary>
public sealed class SpfOptions
{
    /// <summary>Most terms that cause DNS lookups (include, a, mx, ptr, exists, redirect) per check; more is PermError.</summary>
    public int MaxDnsLookups { get; set; } = 10;

    /// <summary>Most lookups that return no records (NXDOMAIN or NODATA) per check; more is PermError.</summary>
    public int MaxVoidLookups { get; set; } = 2;

    /// <summary>Most MX names one "mx" mechanism looks up addresses of; a longer MX set is PermError.</summary>
    public int MaxMxNames { get; set; } = 10;

    /// <summary>Most PTR names the "ptr" mechanism and the %{p} macro validate; the rest are ignored.</summary>
    public int MaxPtrNames { get; set; } = 10;

    /// <summary>The whole check ends with TempError after this long (the RFC asks for at least 20 seconds).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The %{r} macro: the domain of the receiving MTA.</summary>
    public string ReceiverDomain { get; set; } = "unknown";

    /// <summary>The clock of the %{t} macro.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (MaxDnsLookups < 1 || MaxVoidLookups < 0 || MaxMxNames < 1 || MaxPtrNames < 1)
            throw new ArgumentException("SpfOptions limits must be positive (MaxVoidLookups may be 0)");
        if (Timeout <= TimeSpan.Zero)
            throw new ArgumentException($"SpfOptions.Timeout must be positive, not {Timeout}");
        ArgumentNullException.ThrowIfNull(ReceiverDomain);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
