using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hermod.Dns;

namespace Hermod.Policy.Dkim;

/// <summary>Settings of a <see cref="DkimVerifier"/>.</summary>
public sealed class DkimVerifierOptions
{
    /// <summary>Signatures verified per message (top first); later ones are reported neutral.</summary>
    public int MaxSignatures { get; set; } = 5;

    /// <summary>Longest header block read; a longer one is a permerror.</summary>
    public int MaxHeaderBytes { get; set; } = 1024 * 1024;

    /// <summary>Shortest RSA key accepted (RFC 8301: 1024).</summary>
    public int MinRsaBits { get; set; } = 1024;

    /// <summary>Tolerated clock difference for t= in the future and x= in the past.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Verifies the DKIM-Signature fields of a message (RFC 6376 section 6, RFC 8301, RFC 8463). Keys come from DNS
/// through <see cref="IDnsResolver"/> and are looked up while the body streams through the body hashers.
/// </summary>
public sealed class DkimVerifier
{
    private readonly IDnsResolver _resolver;
    private readonly DkimVerifierOptions _options;
    private readonly TimeProvider _time;

    public DkimVerifier(IDnsResolver resolver, DkimVerifierOptions? options = null, TimeProvider? time = null)
    {
        _resolver = resolver;
        _options = options ?? new DkimVerifierOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Verifies every DKIM-Signature of <paramref name="message"/> (header block, empty line, body; CRLF line ends),
    /// in header order. An empty list means the message is not signed (<see cref="DkimResult.None"/>).
    /// </summary>
    public async Task<IReadOnlyList<DkimResult>> VerifyAsync(Stream message, CancellationToken cancellationToken = default)
    {
        using var parsed = await DkimMessage.ReadAsync(message, _options.MaxHeaderBytes, cancellationToken);
        if (parsed is null)
            return [new DkimResult(DkimStatus.PermError, "header block too long", null, null, null, null, null)];
        var results = new DkimResult?[CountSignatures(parsed.Fields)];
        var pending = new List<(int Index, Candidate Candidate, Task<KeyLookup> Key)>();
        var index = 0;
        try
        {
            foreach (var field in parsed.Fields)
            {
                if (!field.Name.Equals("DKIM-Signature", StringComparison.OrdinalIgnoreCase))
                    continue;
                if (index >= _options.MaxSignatures)
                {
                    results[index++] = new DkimResult(DkimStatus.Neutral, "too many signatures", null, null, null, null, null);
                    continue;
                }
                var candidate = Parse(field, out var error);
                if (candidate is null)
                    results[index] = error;
                else
                    pending.Add((index, candidate, LookupKeyAsync(candidate.Signature, cancellationToken)));
                index++;
            }
            if (pending.Count > 0)
                await HashBodyAsync(parsed, message, pending.Select(p => p.Candidate.Body).ToList(), cancellationToken);
            foreach (var (i, candidate, key) in pending)
                results[i] = Check(parsed.Fields, candidate, await key);
        }
        finally
        {
            foreach (var p in pending)
                p.Candidate.Body.Dispose();
        }
        return results.Select(r => r!).ToList();
    }

    private static int CountSignatures(IReadOnlyList<DkimHeaderField> fields)
    {
        var count = 0;
        foreach (var field in fields)
        {
            if (field.Name.Equals("DKIM-Signature", StringComparison.OrdinalIgnoreCase))
                count++;
        }
        return count;
    }

    private static async Task HashBodyAsync(DkimMessage parsed, Stream message, List<DkimBodyHasher> hashers, CancellationToken cancellationToken)
    {
        foreach (var hasher in hashers)
            hasher.Append(parsed.BodyPrefix);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await message.ReadAsync(buffer, cancellationToken)) > 0)
            {
                foreach (var hasher in hashers)
                    hasher.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed record SignatureTags(string Domain, string Selector, string AlgorithmName, DkimAlgorithm Algorithm,
        string Identity, string? ExplicitIdentity, byte[] BodyHash, byte[] Value, string B, string[] Headers,
        DkimCanonicalization HeaderCanonicalization, DkimCanonicalization BodyCanonicalization, long? Length);

    private sealed record Candidate(DkimHeaderField Field, SignatureTags Signature, DkimBodyHasher Body);

    private sealed record KeyLookup(DkimStatus Status, string? Reason, RSA? Rsa, byte[]? Ed25519);

    private Candidate? Parse(DkimHeaderField field, out DkimResult? error)
    {
        var value = field.Raw[(field.Raw.IndexOf(':', StringComparison.Ordinal) + 1)..];
        string? domain = null, selector = null, algorithm = null, identity = null, b = null;
        DkimResult Error(string reason) => new(DkimStatus.PermError, reason, domain, selector, algorithm, identity, b);

        if (!DkimTagList.TryParse(value, out var tags, out var syntax))
        {
            error = Error(syntax!);
            return null;
        }
        domain = tags.GetValueOrDefault("d")?.ToLowerInvariant();
        selector = tags.GetValueOrDefault("s");
        algorithm = tags.GetValueOrDefault("a")?.ToLowerInvariant();
        identity = tags.GetValueOrDefault("i");
        b = tags.TryGetValue("b", out var bText) ? DkimTagList.WithoutWhitespace(bText) : null;
        foreach (var required in (string[])["v", "a", "b", "bh", "d", "h", "s"])
        {
            if (!tags.ContainsKey(required))
            {
                error = Error($"missing tag {required}=");
                return null;
            }
        }
        if (tags["v"] != "1")
        {
            error = Error($"unsupported version v={tags["v"]}");
            return null;
        }
        DkimAlgorithm kind;
        if (algorithm == "rsa-sha256")
            kind = DkimAlgorithm.RsaSha256;
        else if (algorithm == "ed25519-sha256")
            kind = DkimAlgorithm.Ed25519Sha256;
        else
        {
            error = Error($"unsupported algorithm {algorithm}");
            return null;
        }
        byte[] bodyHash, signature;
        try
        {
            bodyHash = Convert.FromBase64String(DkimTagList.WithoutWhitespace(tags["bh"]));
            signature = Convert.FromBase64String(b!);
        }
        catch (FormatException)
        {
            error = Error("bad base64 in b= or bh=");
            return null;
        }
        if (signature.Length == 0)
        {
            error = Error("empty b=");
            return null;
        }
        var headers = DkimTagList.WithoutWhitespace(tags["h"]).Split(':');
        if (!headers.Contains("from", StringComparer.OrdinalIgnoreCase))
        {
            error = Error("h= does not sign From");
            return null;
        }
        if (headers.Any(h => h.Length == 0))
        {
            error = Error("empty header name in h=");
            return null;
        }
        if (string.IsNullOrEmpty(domain) || string.IsNullOrEmpty(selector) || domain.Contains("..", StringComparison.Ordinal))
        {
            error = Error("bad d= or s=");
            return null;
        }
        var headerCanonicalization = DkimCanonicalization.Simple;
        var bodyCanonicalization = DkimCanonicalization.Simple;
        if (tags.TryGetValue("c", out var c))
        {
            var parts = c.Split('/');
            if (parts.Length > 2 || !DkimHeaderCanonicalizer.TryParse(parts[0].Trim(), out headerCanonicalization)
                || (parts.Length == 2 && !DkimHeaderCanonicalizer.TryParse(parts[1].Trim(), out bodyCanonicalization)))
            {
                error = Error($"unsupported canonicalization c={c}");
                return null;
            }
        }
        if (tags.TryGetValue("q", out var q) && !q.Split(':').Any(m => m.Trim().Equals("dns/txt", StringComparison.OrdinalIgnoreCase)))
        {
            error = Error($"unsupported query method q={q}");
            return null;
        }
        var auid = identity ?? "@" + domain;
        var at = auid.LastIndexOf('@');
        var auidDomain = at < 0 ? "" : auid[(at + 1)..].ToLowerInvariant();
        if (at < 0 || (auidDomain != domain && !auidDomain.EndsWith("." + domain, StringComparison.Ordinal)))
        {
            error = Error("i= is not in the d= domain");
            return null;
        }
        long? length = null;
        if (tags.TryGetValue("l", out var l))
        {
            if (!long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedLength))
            {
                error = Error("bad l=");
                return null;
            }
            length = parsedLength;
        }
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var skew = (long)_options.ClockSkew.TotalSeconds;
        long? timestamp = null;
        if (tags.TryGetValue("t", out var t))
        {
            if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedTime))
            {
                error = Error("bad t=");
                return null;
            }
            if (parsedTime > now + skew)
            {
                error = Error("t= is in the future");
                return null;
            }
            timestamp = parsedTime;
        }
        if (tags.TryGetValue("x", out var x))
        {
            if (!long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
            {
                error = Error("bad x=");
                return null;
            }
            if (timestamp is { } signedAt && expires < signedAt)
            {
                error = Error("x= is before t=");
                return null;
            }
            if (expires + skew < now)
            {
                error = Error("signature expired");
                return null;
            }
        }
        error = null;
        var parsedTags = new SignatureTags(domain, selector, algorithm, kind, auid, identity, bodyHash, signature, b!, headers,
            headerCanonicalization, bodyCanonicalization, length);
        return new Candidate(field, parsedTags, new DkimBodyHasher(bodyCanonicalization, length));
    }

    private async Task<KeyLookup> LookupKeyAsync(SignatureTags signature, CancellationToken cancellationToken)
    {
        var answer = await _resolver.ResolveTxtAsync($"{signature.Selector}._domainkey.{signature.Domain}", cancellationToken);
        if (answer.Status.IsFailure())
            return new KeyLookup(DkimStatus.TempError, $"key lookup failed: {answer.Status}", null, null);
        if (answer.Records.Count == 0)
            return new KeyLookup(DkimStatus.PermError, "no key for signature", null, null);
        KeyLookup? first = null;
        foreach (var record in answer.Records)
        {
            var key = ParseKey(record, signature);
            if (key.Status == DkimStatus.Pass)
                return key;
            first ??= key;
        }
        return first!;
    }

    private KeyLookup ParseKey(string record, SignatureTags signature)
    {
        static KeyLookup Error(string reason) => new(DkimStatus.PermError, reason, null, null);

        if (!DkimTagList.TryParse(record, out var tags, out var syntax))
            return Error($"key syntax: {syntax}");
        if (tags.TryGetValue("v", out var v) && v != "DKIM1")
            return Error($"key version v={v}");
        if (!tags.TryGetValue("p", out var p))
            return Error("key has no p=");
        p = DkimTagList.WithoutWhitespace(p);
        if (p.Length == 0)
            return new KeyLookup(DkimStatus.Fail, "key revoked", null, null);
        if (tags.TryGetValue("h", out var h) && !h.Split(':').Any(a => a.Trim().Equals("sha256", StringComparison.OrdinalIgnoreCase)))
            return Error("key does not allow sha256");
        if (tags.TryGetValue("s", out var s) && !s.Split(':').Any(t => t.Trim() is "*" or "email"))
            return Error("key is not for email");
        if (tags.TryGetValue("t", out var flags) && flags.Split(':').Any(f => f.Trim() == "s")
            && !signature.Identity[(signature.Identity.LastIndexOf('@') + 1)..].Equals(signature.Domain, StringComparison.OrdinalIgnoreCase))
            return Error("key forbids subdomains in i= (t=s)");
        var type = tags.TryGetValue("k", out var k) ? k.Trim().ToLowerInvariant() : "rsa";
        byte[] data;
        try
        {
            data = Convert.FromBase64String(p);
        }
        catch (FormatException)
        {
            return Error("bad base64 in key p=");
        }
        switch (type)
        {
            case "rsa" when signature.Algorithm == DkimAlgorithm.RsaSha256:
                {
                    var rsa = RSA.Create();
                    try
                    {
                        try
                        {
                            rsa.ImportSubjectPublicKeyInfo(data, out _);
                        }
                        catch (CryptographicException)
                        {
                            rsa.ImportRSAPublicKey(data, out _); // RFC 6376 3.6.1 names RSAPublicKey; most publish SPKI
                        }
                    }
                    catch (CryptographicException)
                    {
                        rsa.Dispose();
                        return Error("key p= is not an RSA public key");
                    }
                    if (rsa.KeySize < _options.MinRsaBits)
                    {
                        var bits = rsa.KeySize;
                        rsa.Dispose();
                        return Error($"key too short ({bits} bits)");
                    }
                    return new KeyLookup(DkimStatus.Pass, null, rsa, null);
                }
            case "ed25519" when signature.Algorithm == DkimAlgorithm.Ed25519Sha256:
                return data.Length == Ed25519OpenSsl.KeySize
                    ? new KeyLookup(DkimStatus.Pass, null, null, data)
                    : Error("key p= is not a 32-byte Ed25519 key");
            case "rsa" or "ed25519":
                return Error($"key type k={type} does not match a={signature.AlgorithmName}");
            default:
                return Error($"unsupported key type k={type}");
        }
    }

    private static DkimResult Check(IReadOnlyList<DkimHeaderField> fields, Candidate candidate, KeyLookup key)
    {
        var s = candidate.Signature;
        DkimResult Result(DkimStatus status, string? reason) =>
            new(status, reason, s.Domain, s.Selector, s.AlgorithmName, s.ExplicitIdentity, s.B);

        using var rsa = key.Rsa;
        if (key.Status != DkimStatus.Pass)
            return Result(key.Status, key.Reason);
        var bodyHash = candidate.Body.Finish();
        if (s.Length is { } limit && limit > candidate.Body.CanonicalLength)
            return Result(DkimStatus.Fail, "l= is longer than the body");
        if (!CryptographicOperations.FixedTimeEquals(bodyHash, s.BodyHash))
            return Result(DkimStatus.Fail, "body hash mismatch");
        var data = Encoding.Latin1.GetBytes(DkimMessage.HeaderHashInput(fields, s.Headers, s.HeaderCanonicalization,
            DkimMessage.WithoutSignatureValue(candidate.Field.Raw), exclude: candidate.Field));
        var valid = rsa is not null
            ? rsa.VerifyData(data, s.Value, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : Ed25519OpenSsl.Verify(key.Ed25519, SHA256.HashData(data), s.Value);
        return valid ? Result(DkimStatus.Pass, null) : Result(DkimStatus.Fail, "signature invalid");
    }
}
