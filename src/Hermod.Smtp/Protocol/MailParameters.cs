using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Protocol;

/// <summary>
/// The parameters of MAIL FROM: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461) and
/// AUTH (RFC 4954, accepted and ignored: a client's claim about the original submitter is not trusted).
/// </summary>
public readonly record struct MailParameters(long? Size, BodyType Body, bool SmtpUtf8, DsnReturn Ret, string? EnvelopeId)
{
    /// <summary>ENVID's longest decoded value (RFC 3461 4.4).</summary>
    public const int MaxEnvelopeId = 100;

    private enum Keyword { Size, Body, SmtpUtf8, Ret, EnvId, Auth }

    private static readonly string[] Keywords = ["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"]; // in Keyword's order

    /// <summary>
    /// Parses the parameters after the path (<see cref="PathParser.TrySplit"/> has checked their keywords' syntax).
    /// False with the reply for the first bad one: 555 for a keyword MAIL does not take, 501 for a bad value or a
    /// keyword given twice.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MailParameters parameters, [NotNullWhen(false)] out SmtpReply? error)
    {
        parameters = default;
        var seen = 0;
        foreach (var parameter in new EsmtpParameters(text))
        {
            if (!parameter.TryRecognize(Keywords, ref seen, out var index, out error))
                return false;
            var value = parameter.Value;
            switch ((Keyword)index)
            {
                case Keyword.Size when parameter.HasValue && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size):
                    parameters = parameters with { Size = size };
                    break;
                case Keyword.Body when value.Equals("7BIT", StringComparison.OrdinalIgnoreCase):
                    parameters = parameters with { Body = BodyType.SevenBit };
                    break;
                case Keyword.Body when value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase):
                    parameters = parameters with { Body = BodyType.EightBitMime };
                    break;
                case Keyword.SmtpUtf8 when !parameter.HasValue:
                    parameters = parameters with { SmtpUtf8 = true };
                    break;
                case Keyword.Ret when value.Equals("FULL", StringComparison.OrdinalIgnoreCase):
                    parameters = parameters with { Ret = DsnReturn.Full };
                    break;
                case Keyword.Ret when value.Equals("HDRS", StringComparison.OrdinalIgnoreCase):
                    parameters = parameters with { Ret = DsnReturn.Headers };
                    break;
                case Keyword.EnvId when parameter.HasValue && PathParser.TryDecodeXtext(value, out var id) && id.Length is > 0 and <= MaxEnvelopeId:
                    parameters = parameters with { EnvelopeId = id };
                    break;
                case Keyword.Auth when parameter.HasValue && PathParser.TryDecodeXtext(value, out _):
                    break;
                default:
                    error = SmtpReplies.BadParameterValue(Keywords[index]);
                    return false;
            }
        }
        error = null;
        return true;
    }
}
