using System.Net;
using System.Text;
using Hermod.Policy.Checks;

namespace Hermod.Policy.Tests.Checks;

internal static class Contexts
{
    public static CheckContext Make(string ip = "192.0.2.1", bool tls = false, string? user = null, string? sender = null,
        string? recipient = null, string? message = null, string helo = "client.example") => new()
        {
            Listener = "test",
            ClientAddress = IPAddress.Parse(ip),
            Helo = helo,
            Tls = tls,
            AuthUser = user,
            Sender = sender,
            Recipient = recipient,
            Recipients = recipient is null ? [] : [recipient],
            OpenBody = message is null ? null : _ => Task.FromResult<Stream>(new MemoryStream(Encoding.Latin1.GetBytes(message))),
        };

    public static void AssertRefused(CheckResult result, CheckAction action, int code, string enhanced)
    {
        Assert.Equal(action, result.Action);
        Assert.Equal(code, result.Reply!.Code);
        Assert.Equal(enhanced, result.Reply.Enhanced.ToString());
    }

    public static string Header(CheckResult result, string name = "Authentication-Results") =>
        Assert.Single(result.Headers ?? [], h => h.Key == name).Value;
}
