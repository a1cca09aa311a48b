using Hermod.Mime.Codecs;
using Hermod.Mime.Syntax;

namespace Hermod.Mime.Writing;

/// <summary>An attachment or inline part, base64.</summary>
internal sealed class AttachmentPart(MimeAttachment attachment, MediaType mediaType, bool inline) : MimePart
{
    /// <summary>A multiple of 57 bytes: whole base64 lines per step.</summary>
    private const int BytesPerStep = Base64Lines.BytesPerLine * 128;

    public override bool BodyEndsWithLineEnd => attachment.Content.IsEmpty;

    public override IEnumerable<string> Headers()
    {
        var typeParameters = new List<string>();
        foreach (var (name, value) in mediaType.Parameters)
            typeParameters.Add(Rfc2231.Plain(name, value));
        typeParameters.Add(Rfc2231.PlainFallback("name", attachment.FileName));
        yield return new HeaderBuilder("Content-Type").WithParameters(mediaType.Value, typeParameters).ToString();
        yield return "Content-Transfer-Encoding: base64\r\n";
        yield return new HeaderBuilder("Content-Disposition")
            .WithParameters(inline ? "inline" : "attachment", Rfc2231.Parameters("filename", attachment.FileName)).ToString();
        if (attachment.ContentId is { } id)
            yield return new HeaderBuilder("Content-ID").Word("<" + AddressSyntax.StripAngles(id) + ">").ToString();
    }

    public override async ValueTask WriteBodyAsync(MimeOutput output, CancellationToken cancellationToken)
    {
        var content = attachment.Content;
        for (var offset = 0; offset < content.Length; offset += BytesPerStep)
        {
            Base64Lines.Write(content.Span.Slice(offset, Math.Min(BytesPerStep, content.Length - offset)), offset > 0, output);
            await output.FlushIfFullAsync(cancellationToken);
        }
    }
}
