using System.Text;
using Hermod.Core.Configuration;
using Hermod.Policy.Checks;
using Hermod.Policy.Headers;
using Hermod.Smtp.Configuration;
using Microsoft.Extensions.Logging;

namespace Hermod.Samples.Extensions;

/// <summary>What <see cref="SubjectKeywordCheck"/> does with a message whose Subject matches.</summary>
public enum KeywordAction
{
    /// <summary>Refuse at the end of DATA with 550 5.7.1.</summary>
    Reject,
    /// <summary>Accept, but hold the message for an operator instead of delivering it (the built-in quarantine).</summary>
    Quarantine,
}

/// <summary>
/// Body stage: refuses a message (550 5.7.1 "Message refused: subject keyword") or quarantines it when its Subject
/// contains one of <c>keywords</c>, ignoring case. Options: <c>keywords: [..]</c> (required, not empty) and
/// <c>action: reject|quarantine</c> (default reject). Reads only the header block, at most smtp.limits.max_header_size
/// bytes; the Subject is matched as it stands in the header, unfolded (RFC 2047 encoded words are not decoded).
/// </summary>
public sealed partial class SubjectKeywordCheck : ICheck
{
    /// <summary>The reply to a matching message with <c>action: reject</c>.</summary>
    public static readonly CheckResult Refusal = CheckResult.Reject("Message refused: subject keyword", 550, new(5, 7, 1));

    private readonly List<string> _keywords = [];
    private readonly KeywordAction _action;
    private readonly int _maxHeaderBytes;
    private readonly ILogger<SubjectKeywordCheck> _logger;

    /// <summary>Reads and validates the options; problems go to <paramref name="config"/>'s errors ("key: reason").</summary>
    public SubjectKeywordCheck(ConfigSection config, SmtpOptions smtp, ILogger<SubjectKeywordCheck> logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(smtp);
        _logger = logger;
        _maxHeaderBytes = smtp.Limits.MaxHeaderSize;
        config.Known("keywords", "action");
        var errors = config.Errors.Count;
        var keywords = config.Strings("keywords");
        if (keywords is null)
        {
            if (config.Errors.Count == errors) // else the getter already said what is wrong with it
                config.Error("keywords", "is required: a list of words, e.g. keywords: [lottery, viagra]");
        }
        else if (keywords.Count == 0)
            config.Error("keywords", "must list at least one keyword");
        foreach (var keyword in keywords ?? [])
            if (string.IsNullOrWhiteSpace(keyword))
                config.Error("keywords", "a keyword must not be empty");
            else if (keyword.Any(char.IsControl))
                config.Error("keywords", $"'{keyword}' contains a control character");
            else
                _keywords.Add(keyword);
        _action = config.Enum<KeywordAction>("action") ?? KeywordAction.Reject;
    }

    /// <summary>The name configuration gave it, e.g. "subject_keyword".</summary>
    public string Name => "subject_keyword";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Body;

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (stage != CheckStage.Body || context.OpenBody is null)
            return CheckResult.Accept;
        (MessageHeader Header, int Length)? read;
        var message = await context.OpenBody(cancellationToken);
        await using (message)
            read = await MessageHeader.ReadAsync(message, _maxHeaderBytes, cancellationToken);
        if (read is not var (header, _))
            return CheckResult.Reject("Message header too large", 552, new(5, 3, 4)); // as the built-in checks do

        foreach (var field in header.Fields)
        {
            if (!field.Name.Equals("Subject", StringComparison.OrdinalIgnoreCase))
                continue;
            // the header holds one char per byte: a UTF-8 subject (SMTPUTF8) becomes text again before matching
            var subject = Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(field.Value));
            foreach (var keyword in _keywords)
            {
                if (!subject.Contains(keyword, StringComparison.OrdinalIgnoreCase))
                    continue;
                LogMatched(_logger, Name, context.ClientAddress.ToString(), keyword, _action);
                return _action == KeywordAction.Quarantine ? CheckResult.Quarantine($"subject keyword '{keyword}'") : Refusal;
            }
        }
        return CheckResult.Accept;
    }

    // client-caused: Debug, as the built-in checks log their refusals
    [LoggerMessage(9101, LogLevel.Debug, "{Check}: subject from [{Client}] contains '{Keyword}': {Action}")]
    private static partial void LogMatched(ILogger logger, string check, string client, string keyword, KeywordAction action);
}
