using Hermod.Dns.Protocol;
using Hermod.Dns.Tests.TestKit;

namespace Hermod.Dns.Tests.Protocol;

public class DnsNameTests
{
    [Fact]
    public void Root_reads_as_a_dot()
    {
        var position = 0;
        Assert.True(DnsName.TryRead([0], ref position, out var name));
        Assert.Equal(".", name);
        Assert.Equal(1, position);
    }

    [Fact]
    public void Odd_bytes_in_labels_are_escaped()
    {
        var wire = new DnsWire().U8(4).Bytes((byte)'a', (byte)'.', (byte)' ', 0xC3).U8(2).Bytes((byte)'\\', (byte)'Z').Root().ToArray();
        var position = 0;

        Assert.True(DnsName.TryRead(wire, ref position, out var name));
        Assert.Equal(@"a\046\032\195.\092Z", name);
        Assert.Equal(wire.Length, position);
    }

    [Fact]
    public void Reading_continues_after_the_first_pointer()
    {
        var wire = new DnsWire().Name("example.test").Labels("www").Pointer(0).U8(0xEE).ToArray();
        var position = 14;

        Assert.True(DnsName.TryRead(wire, ref position, out var name));
        Assert.Equal("www.example.test", name);
        Assert.Equal(wire.Length - 1, position);
    }
}
