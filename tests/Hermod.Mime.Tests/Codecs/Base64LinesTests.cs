using System.Buffers;
using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Tests.TestKit;

namespace Hermod.Mime.Tests.Codecs;

public class Base64LinesTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(56)]
    [InlineData(57)]
    [InlineData(58)]
    [InlineData(114)]
    [InlineData(115)]
    [InlineData(10_000)]
    public void Lines_are_76_characters_and_decode_back(int size)
    {
        var data = Specs.Bytes(size, size);
        var buffer = new ArrayBufferWriter<byte>();

        Base64Lines.Write(data, continuation: false, buffer);

        var text = Encoding.ASCII.GetString(buffer.WrittenSpan);
        var lines = text.Length == 0 ? [] : text.Split("\r\n");
        Assert.Equal((size + 56) / 57, lines.Length);
        Assert.All(lines[..Math.Max(0, lines.Length - 1)], l => Assert.Equal(76, l.Length));
        Assert.All(lines, l => Assert.True(l.Length is > 0 and <= 76));
        Assert.Equal(data, Convert.FromBase64String(text.Replace("\r\n", "")));
        Assert.False(text.EndsWith("\r\n"));
    }

    [Fact]
    public void Continuation_starts_with_a_line_end()
    {
        var buffer = new ArrayBufferWriter<byte>();

        Base64Lines.Write(new byte[57], continuation: false, buffer);
        Base64Lines.Write(new byte[3], continuation: true, buffer);

        Assert.Equal(new string('A', 76) + "\r\nAAAA", Encoding.ASCII.GetString(buffer.WrittenSpan));
    }
}
