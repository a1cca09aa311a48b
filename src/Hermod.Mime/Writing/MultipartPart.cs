using System.Security.Cryptography;
using Hermod.Mime.Codecs;

namespace Hermod.Mime.Writing;

/// <summary>multipart/mixed, alternative or related.</summary>
internal sealed class MultipartPart(string subtype, IReadOnlyList<MimePart> children, string? relatedType = null) : MimePart
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public string Boundary { get; private set; } = "";

    public IReadOnlyList<MimePart> Children => children;

    public override bool BodyEndsWithLineEnd => false;

    public override IEnumerable<string> SevenBitContent()
    {
        foreach (var child in children)
        {
            foreach (var text in child.SevenBitContent())
                yield return text;
        }
    }

    /// <summary>
    /// A random boundary: "=_" and 28 letters and digits. "=_" never occurs in quoted-printable (which writes '=' only
    /// as =XX or a soft line break) nor in base64, so only 7bit text can contain it, and a boundary that occurs in
    /// that text (or equals another boundary) is drawn again.
    /// </summary>
    public void ChooseBoundary(IReadOnlyList<string> sevenBitContent, ISet<string> taken, Func<string>? generate = null)
    {
        generate ??= Random;
        while (true)
        {
            var candidate = generate();
            if (taken.Contains(candidate))
                continue;
            var used = false;
            foreach (var text in sevenBitContent)
            {
                if (text.Contains(candidate, StringComparison.Ordinal))
                {
                    used = true;
                    break;
                }
            }
            if (used)
                continue;
            taken.Add(candidate);
            Boundary = candidate;
            return;
        }
    }

    private static string Random() => "=_" + RandomNumberGenerator.GetString(Alphabet, 28);

    public override IEnumerable<string> Headers()
    {
        var parameters = new List<string>();
        if (relatedType is not null)
            parameters.Add(Rfc2231.Plain("type", relatedType));
        parameters.Add(Rfc2231.Plain("boundary", Boundary));
        yield return new HeaderBuilder("Content-Type").WithParameters("multipart/" + subtype, parameters).ToString();
    }

    public override async ValueTask WriteBodyAsync(MimeOutput output, CancellationToken cancellationToken)
    {
        for (var i = 0; i < children.Count; i++)
        {
            output.Write(i == 0 ? "--" : "\r\n--");
            output.Write(Boundary);
            output.Write("\r\n"u8);
            children[i].WriteHeaders(output);
            output.Write("\r\n"u8);
            await children[i].WriteBodyAsync(output, cancellationToken);
        }
        output.Write("\r\n--");
        output.Write(Boundary);
        output.Write("--"u8);
    }
}
