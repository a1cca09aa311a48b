using System.Diagnostics.CodeAnalysis;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Protocol;

/// <summary>The parameters of RCPT TO: NOTIFY and ORCPT (RFC 3461 4.1, 4.2).</summary>
public readonly record struct RcptParameters(DsnNotify Notify, string? OriginalRecipient)
{
    private enum Keyword { Notify, Orcpt }

    private static readonly string[] Keywords = ["NOTIFY", "ORCPT"]; // in Keyword's order

    /// <summary>
    /// Parses the parameters after the path (<see cref="PathParser.TrySplit"/> has checked their keywords' syntax).
    /// False with the reply for the first bad one: 555 for a keyword RCPT does not take, 501 for a bad value or a
    /// keyword given twice.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out RcptParameters parameters, [NotNullWhen(false)] out SmtpReply? error)
    {
        parameters = default;
        var seen = 0;
        foreach (var parameter in new EsmtpParameters(text))
        {
            if (!parameter.TryRecognize(Keywords, ref seen, out var index, out error))
                return false;
            switch ((Keyword)index)
            {
                case Keyword.Notify when parameter.HasValue && PathParser.TryParseNotify(parameter.Value, out var notify):
                    parameters = parameters with { Notify = notify };
                    break;
                case Keyword.Orcpt when parameter.HasValue && PathParser.TryParseOrcpt(parameter.Value, out var orcpt):
                    parameters = parameters with { OriginalRecipient = orcpt };
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
