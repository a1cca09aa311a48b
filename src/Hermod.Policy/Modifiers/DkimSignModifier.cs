using System.Buffers;
using System.Security.Cryptography;
using Hermod.Core.Configuration;
using Hermod.Policy.Dkim;
using Hermod.Policy.Headers;

namespace Hermod.Policy.Modifiers;

/// <summary>
/// <c>dkim_sign { keys: [{ domain, selector, key }], headers: [...], oversign: [...] }</c>: adds a DKIM-Signature
/// (relaxed/relaxed) at the top of the header block. The signing domain is the domain of the first From address, or
/// the envelope sender's domain when no key matches that one (exact, case-insensitive); a message with neither is passed
/// unsigned. A domain with several keys (e.g. RSA and Ed25519) gets one signature per key. Keys (PEM files, RSA or
/// Ed25519) are loaded when the modifier is built. <c>headers</c> and <c>oversign</c> default to those of
/// <see cref="DkimSignerOptions"/>. Configure it after the modifiers that change the header block: fields added later are not signed.
/// </summary>
public sealed class DkimSignModifier : IModifier, IDisposable
{
    private readonly List<DkimSigningKey> _keys = [];
    private readonly DkimSigner _signer;

    public DkimSignModifier(ConfigSection config, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        config.Known("keys", "headers", "oversign");
        var options = new DkimSignerOptions();
        if (ModifierText.FieldNames(config, "headers", allowEmpty: false) is { } headers)
        {
            if (headers.Count > 0 && !headers.Contains("From", StringComparer.OrdinalIgnoreCase))
                config.Error("headers", "must include From (RFC 6376 section 5.4)");
            options.SignedHeaders = headers;
        }
        if (ModifierText.FieldNames(config, "oversign", allowEmpty: true) is { } oversign)
            options.OversignedHeaders = oversign;
        _signer = new DkimSigner(options, time);

        var errors = config.Errors.Count;
        var sections = config.Sections("keys");
        if (sections is null)
        {
            if (config.Errors.Count == errors)
                config.Error("keys", "is required: a list of { domain, selector, key }");
            return;
        }
        if (sections.Count == 0 && config.Errors.Count == errors)
            config.Error("keys", "must list at least one { domain, selector, key }");
        foreach (var section in sections)
            LoadKey(section);
    }

    public string Name => "dkim_sign";

    public ModifierStages Stages => ModifierStages.Header;

    /// <summary>The loaded keys, in configuration order.</summary>
    public IReadOnlyList<DkimSigningKey> Keys => _keys;

    public async ValueTask ModifyHeaderAsync(MessageHeader header, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(context);
        var keys = KeysFor(header, context.Sender);
        if (keys.Count == 0)
            return;
        if (context.OpenBody is null)
            throw new InvalidOperationException("dkim_sign needs the message body at the header stage (ModifierContext.OpenBody)");
        byte[] bodyHash;
        using (var hasher = _signer.CreateBodyHasher())
        {
            var body = await context.OpenBody(cancellationToken);
            await using (body)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
                try
                {
                    int read;
                    while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                        hasher.Append(buffer.AsSpan(0, read));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            bodyHash = hasher.Finish();
        }
        var block = header.ToBytes();
        var fields = new string[keys.Count];
        for (var i = 0; i < keys.Count; i++)
            fields[i] = _signer.Sign(block, bodyHash, keys[i]);
        for (var i = fields.Length - 1; i >= 0; i--) // the first key's signature ends up on top
            header.Prepend(new HeaderField("DKIM-Signature", fields[i]));
    }

    /// <summary>The keys that sign a message: those of the From domain, else those of the envelope sender's domain.</summary>
    internal List<DkimSigningKey> KeysFor(MessageHeader header, string sender)
    {
        if (header.Get("From") is { } from && HeaderReader.Addresses(from) is [var author, ..])
        {
            var keys = KeysFor(ModifierText.DomainOf(author));
            if (keys.Count > 0)
                return keys;
        }
        return sender.Length > 0 ? KeysFor(ModifierText.DomainOf(sender)) : [];
    }

    private List<DkimSigningKey> KeysFor(string domain)
    {
        var keys = new List<DkimSigningKey>();
        domain = domain.TrimEnd('.');
        if (domain.Length == 0)
            return keys;
        foreach (var key in _keys)
            if (key.Domain.Equals(domain, StringComparison.OrdinalIgnoreCase))
                keys.Add(key);
        return keys;
    }

    private void LoadKey(ConfigSection section)
    {
        section.Known("domain", "selector", "key");
        var domain = ModifierText.Required(section, "domain");
        var selector = ModifierText.Required(section, "selector");
        var path = ModifierText.Required(section, "key");
        var valid = domain is not null && selector is not null && path is not null;
        if (domain is not null && !ModifierText.IsDomain(domain.TrimEnd('.')))
        {
            section.Error("domain", $"'{domain}' is not a domain name");
            valid = false;
        }
        if (selector is not null && !ModifierText.IsDomain(selector))
        {
            section.Error("selector", $"'{selector}' is not a selector (dot-separated labels of letters, digits and '-')");
            valid = false;
        }
        if (!valid)
            return;
        foreach (var other in _keys)
            if (other.Domain.Equals(domain!.TrimEnd('.'), StringComparison.OrdinalIgnoreCase) && other.Selector.Equals(selector, StringComparison.OrdinalIgnoreCase))
            {
                section.Error("selector", $"'{selector}' of '{domain}' is listed twice");
                return;
            }
        try
        {
            _keys.Add(DkimSigningKey.Load(domain!, selector!, path!));
        }
        catch (CryptographicException e)
        {
            section.Error("key", e.Message); // names the file
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            section.Error("key", $"{path}: {e.Message}");
        }
    }

    public void Dispose()
    {
        foreach (var key in _keys)
            key.Dispose();
        _keys.Clear();
    }
}
