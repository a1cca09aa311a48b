using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Tests.TestKit;

namespace Hermod.Mime.Tests.Codecs;

public class Rfc2231Tests
{
    [Theory]
    [InlineData("report.pdf", "filename=report.pdf")]
    [InlineData("my report.pdf", "filename=\"my report.pdf\"")]
    [InlineData("a\"b\\c;d.txt", "filename=\"a\\\"b\\\\c;d.txt\"")]
    [InlineData("Grüße.txt", "filename*=utf-8''Gr%C3%BC%C3%9Fe.txt")]
    [InlineData("100% sure.txt", "filename=\"100% sure.txt\"")]
    [InlineData("日本.txt", "filename*=utf-8''%E6%97%A5%E6%9C%AC.txt")]
    [InlineData("a'b*c%d é", "filename*=utf-8''a%27b%2Ac%25d%20%C3%A9")]
    public void Short_values(string value, string expected) => Assert.Equal([expected], Rfc2231.Parameters("filename", value));

    [Theory]
    [InlineData("Длинное имя файла, которое не помещается в одну строку заголовка.docx")]
    [InlineData("😀👩‍👩‍👧‍👦🇳🇴 emoji and more emoji 😀👩‍👩‍👧‍👦🇳🇴 and more.png")]
    [InlineData("a-long-ascii-name-that-does-not-fit-on-one-line-of-a-header-field-at-all.pdf")]
    [InlineData("日本語のとても長いファイル名日本語のとても長いファイル名日本語のとても長いファイル名.pdf")]
    public void Long_values_are_continued_without_splitting_characters(string value)
    {
        var parameters = Rfc2231.Parameters("filename", value);

        Assert.True(parameters.Count > 1);
        var joined = new StringBuilder();
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            Assert.True(p.Length <= Rfc2231.MaxParameterLength, p);
            var prefix = $"filename*{i}*=" + (i == 0 ? "utf-8''" : "");
            Assert.StartsWith(prefix, p);
            var segment = p[prefix.Length..];
            // Each segment holds whole %XX triples and whole UTF-8 characters.
            Decode.Utf8(PercentDecode(segment));
            joined.Append(segment);
        }
        Assert.Equal(value, Decode.Utf8(PercentDecode(joined.ToString())));
    }

    [Theory]
    [InlineData("Grüße.txt", "Gr_e.txt")]
    [InlineData("emoji 😀👩‍👩‍👧‍👦.png", "emoji _.png")]
    [InlineData("日本 2024.pdf", "_ 2024.pdf")]
    [InlineData("plain.txt", "plain.txt")]
    public void Ascii_fallback(string value, string expected) => Assert.Equal(expected, Rfc2231.AsciiFallback(value));

    [Theory]
    [InlineData("Grüße.txt", "name=Gr_e.txt")]
    [InlineData("short name.pdf", "name=\"short name.pdf\"")]
    [InlineData("Длинное имя файла, которое не помещается в одну строку заголовка вообще.docx", "name=\"_ _ _, _ _ _ _ _ _ _ _.docx\"")]
    public void Plain_fallback(string value, string expected) => Assert.Equal(expected, Rfc2231.PlainFallback("name", value));

    [Theory]
    [InlineData(80, ".pdf")]
    [InlineData(300, ".pdf")]
    [InlineData(300, "")]
    [InlineData(300, ".averyveryverylongextension")]
    public void Plain_fallback_is_shortened_to_fit_a_line_keeping_the_extension(int length, string extension)
    {
        var value = string.Concat(Enumerable.Repeat("a\"b ", length / 4)) + extension;

        var parameter = Rfc2231.PlainFallback("name", value);

        Assert.True(parameter.Length <= Rfc2231.MaxParameterLength, parameter);
        if (extension.Length is > 0 and <= 10)
            Assert.EndsWith(extension + "\"", parameter);
        Assert.StartsWith("name=\"a\\\"b a", parameter);
    }

    private static byte[] PercentDecode(string s)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%')
            {
                bytes.Add(Convert.FromHexString(s.AsSpan(i + 1, 2))[0]);
                i += 2;
            }
            else
            {
                Assert.True(Rfc2231.IsAttrChar((byte)s[i]), $"'{s[i]}' must be escaped");
                bytes.Add((byte)s[i]);
            }
        }
        return [.. bytes];
    }
}
