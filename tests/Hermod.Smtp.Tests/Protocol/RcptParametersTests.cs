using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Tests.Protocol;

/// <summary>RCPT TO's parameters at their edges: NOTIFY and ORCPT values, case, duplicates, and the exact reply for each refusal.</summary>
public sealed class RcptParametersTests
{
    private static RcptParameters Parse(string text)
    {
        Assert.True(RcptParameters.TryParse(text, out var parameters, out var error), error?.ToString());
        return parameters;
    }

    private static SmtpReply Refusal(string text)
    {
        Assert.False(RcptParameters.TryParse(text, out _, out var error));
        return error;
    }

    private static SmtpReply BadValue(string keyword) => new(501, new(5, 5, 4), $"Bad value for {keyword}");

    [Fact]
    public void No_parameters_give_the_defaults() => Assert.Equal(new RcptParameters(DsnNotify.Default, null), Parse(""));

    [Fact]
    public void Both_parameters_in_any_case() =>
        Assert.Equal(new RcptParameters(DsnNotify.Success | DsnNotify.Delay, "rfc822;orig@example.test"),
            Parse("notify=success,DELAY  Orcpt=rfc822;orig+40example.test"));

    [Theory]
    [InlineData("NOTIFY=NEVER", DsnNotify.Never)]
    [InlineData("NOTIFY=never", DsnNotify.Never)]
    [InlineData("NOTIFY=SUCCESS", DsnNotify.Success)]
    [InlineData("NOTIFY=FAILURE,SUCCESS", DsnNotify.Success | DsnNotify.Failure)]
    [InlineData("NOTIFY=SUCCESS,FAILURE,DELAY", DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay)]
    public void Notify_is_never_or_a_list_of_conditions(string text, DsnNotify notify) => Assert.Equal(notify, Parse(text).Notify);

    [Theory]
    [InlineData("NOTIFY")]
    [InlineData("NOTIFY=")]
    [InlineData("NOTIFY=NEVER,SUCCESS")]
    [InlineData("NOTIFY=SUCCESS,SUCCESS")]
    [InlineData("NOTIFY=SUCCESS,")]
    [InlineData("NOTIFY=,SUCCESS")]
    [InlineData("NOTIFY=ALWAYS")]
    public void Notify_refuses_anything_else(string text) => Assert.Equal(BadValue("NOTIFY"), Refusal(text));

    [Theory]
    [InlineData("ORCPT=rfc822;a@b.test", "rfc822;a@b.test")]
    [InlineData("ORCPT=rfc822;a+2Bb+3Dc@b.test", "rfc822;a+b=c@b.test")]
    [InlineData("ORCPT=x-local-type;a", "x-local-type;a")]
    [InlineData("ORCPT=utf-8;a;b", "utf-8;a;b")]
    public void Orcpt_is_an_address_type_and_a_decoded_address(string text, string orcpt) => Assert.Equal(orcpt, Parse(text).OriginalRecipient);

    [Theory]
    [InlineData(500, true)]
    [InlineData(501, false)]
    public void Orcpt_s_address_is_at_most_500_characters_once_decoded(int length, bool accepted) =>
        Assert.Equal(accepted, RcptParameters.TryParse("ORCPT=rfc822;" + string.Concat(Enumerable.Repeat("+61", length)), out _, out _));

    [Theory]
    [InlineData("ORCPT")]
    [InlineData("ORCPT=")]
    [InlineData("ORCPT=rfc822")]
    [InlineData("ORCPT=rfc822;")]
    [InlineData("ORCPT=;a@b.test")]
    [InlineData("ORCPT=rfc_822;a@b.test")]
    [InlineData("ORCPT=rfc822;x+4")]
    [InlineData("ORCPT=rfc822;a=b")]
    public void Orcpt_refuses_anything_else(string text) => Assert.Equal(BadValue("ORCPT"), Refusal(text));

    [Theory]
    [InlineData("NOTIFY=NEVER NOTIFY=NEVER", "NOTIFY")]
    [InlineData("notify=DELAY Notify=FAILURE", "NOTIFY")]
    [InlineData("ORCPT=rfc822;a ORCPT=rfc822;b", "ORCPT")]
    public void A_parameter_given_twice_is_refused(string text, string keyword) =>
        Assert.Equal(new SmtpReply(501, new(5, 5, 4), $"Duplicate parameter {keyword}"), Refusal(text));

    [Theory]
    [InlineData("SIZE=1", "SIZE")] // MAIL's
    [InlineData("smtputf8", "SMTPUTF8")]
    [InlineData("RRVS=2025-01-01T00:00:00Z", "RRVS")]
    public void A_parameter_rcpt_does_not_take_is_refused_with_555(string text, string keyword) =>
        Assert.Equal(new SmtpReply(555, new(5, 5, 4), $"Unsupported parameter {keyword}"), Refusal(text));
}
