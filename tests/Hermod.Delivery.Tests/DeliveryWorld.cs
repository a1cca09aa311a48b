using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Delivery.Tests;

/// <summary>
/// A small fake internet on loopback: dnsmasq serving the test domains' MX records, aiosmtpd MX hosts scripted per
/// address, and Hermod (in process) relaying to them for its authenticated submission users.
/// </summary>
public sealed class DeliveryWorld : IAsyncLifetime
{
    public const string Accept = "127.0.0.2";
    public const string Down = "127.0.0.3"; // nothing listens there
    public const string Flaky = "127.0.0.4";
    public const string Refuse = "127.0.0.5";
    public const string Stall = "127.0.0.6";
    public const string Drop = "127.0.0.7";
    public const string NoUtf8 = "127.0.0.8";
    public const string Senders = "127.0.0.9";
    public const string Reuse = "127.0.0.10";
    public const string Refuse553 = "127.0.0.11";
    public const string Busy = "127.0.0.12";
    public const string Slow = "127.0.0.13";
    public const string Slow2 = "127.0.0.14";

    public FakeMx Mx { get; private set; } = null!;
    public Dnsmasq Dns { get; private set; } = null!;
    public TestHost Host { get; private set; } = null!;

    /// <summary>Changes to the Hermod options of this world (before it starts).</summary>
    public Action<HermodConfiguration>? Configure { get; init; }

    /// <summary>Off by default: these tests are about store and forward (the queue runner makes every attempt).</summary>
    public bool CutThrough { get; init; }

    public async Task InitializeAsync()
    {
        Mx = await FakeMx.StartAsync(new Dictionary<string, string>
        {
            [Accept] = "accept",
            [Flaky] = "tempfail-once",
            [Refuse] = "reject",
            [Stall] = "stall",
            [Drop] = "drop",
            [NoUtf8] = "no-utf8",
            [Senders] = "accept",
            [Reuse] = "accept",
            [Refuse553] = "reject553",
            [Busy] = "busy",
            [Slow] = "slow",
            [Slow2] = "slow",
        });
        Dns = await Dnsmasq.StartAsync(
        [
            "--local=/test/",
            "--mx-host=good.test,mx.good.test,10", $"--host-record=mx.good.test,{Accept}",
            "--mx-host=fallback.test,mx1.fallback.test,10", $"--host-record=mx1.fallback.test,{Down}",
            "--mx-host=fallback.test,mx2.fallback.test,20", $"--host-record=mx2.fallback.test,{Accept}",
            "--mx-host=flaky.test,mx.flaky.test,10", $"--host-record=mx.flaky.test,{Flaky}",
            "--mx-host=refuse.test,mx.refuse.test,10", $"--host-record=mx.refuse.test,{Refuse}",
            "--mx-host=stall.test,mx.stall.test,10", $"--host-record=mx.stall.test,{Stall}",
            "--mx-host=drop.test,mx.drop.test,10", $"--host-record=mx.drop.test,{Drop}",
            "--mx-host=nullmx.test,.,0",
            "--mx-host=noutf8.test,mx.noutf8.test,10", $"--host-record=mx.noutf8.test,{NoUtf8}",
            "--mx-host=sender.test,mx.sender.test,10", $"--host-record=mx.sender.test,{Senders}",
            $"--host-record=aonly.test,{Accept}",
            "--mx-host=reuse.test,mx.reuse.test,10", $"--host-record=mx.reuse.test,{Reuse}",
            "--mx-host=refuse553.test,mx.refuse553.test,10", $"--host-record=mx.refuse553.test,{Refuse553}",
            "--txt-record=nomx.test,no mail here", // exists, with neither MX nor address records
            "--mx-host=busyfirst.test,mx1.busyfirst.test,10", $"--host-record=mx1.busyfirst.test,{Busy}",
            "--mx-host=slow.test,mx.slow.test,10", $"--host-record=mx.slow.test,{Slow}",
            "--mx-host=slow2.test,mx.slow2.test,10", $"--host-record=mx.slow2.test,{Slow2}",
            "--mx-host=busyfirst.test,mx2.busyfirst.test,20", $"--host-record=mx2.busyfirst.test,{Accept}",
        ], probe: "good.test");
        Host = await TestHost.StartAsync(o =>
        {
            o.Smtp.Listeners.Single(l => l.Name == "submission").AllowPlaintextAuth = true;
            o.Dns.Servers = [Dns.EndPoint];
            o.Dns.Timeout = TimeSpan.FromMilliseconds(500);
            o.Delivery.Enabled = true;
            o.Delivery.RemotePort = Mx.Port;
            o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromMilliseconds(300), Max = TimeSpan.FromSeconds(1), Factor = 2, MaxAge = TimeSpan.FromHours(1) };
            o.Delivery.Timeouts.Command = TimeSpan.FromSeconds(2);
            o.Delivery.Timeouts.DataBlock = TimeSpan.FromSeconds(2);
            o.Delivery.Timeouts.DataEnd = TimeSpan.FromSeconds(2);
            o.Delivery.Timeouts.Connect = TimeSpan.FromSeconds(2);
            o.Log.Level = "information";
            foreach (var listener in o.Smtp.Listeners)
                listener.CutThrough.Enabled = CutThrough;
            o.Http.CutThrough.Enabled = CutThrough;
            Configure?.Invoke(o);
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Dns.DisposeAsync();
        await Mx.DisposeAsync();
    }

    /// <summary>Sends a message through Hermod's submission listener as alice; returns its queue id.</summary>
    public async Task<string> SendAsync(string from, IEnumerable<string> to, string content, string mailParameters = "", string rcptParameters = "")
    {
        await using var smtp = await ConnectAndGreetAsync(Host, "submission");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0alice\0{TestHost.Password}"));
        await smtp.SendAndExpectAsync($"AUTH PLAIN {plain}", "235");
        await smtp.SendAndExpectAsync($"MAIL FROM:<{from}>{mailParameters}", "250");
        foreach (var rcpt in to)
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>{rcptParameters}", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        return QueueId(await smtp.SendAndExpectAsync(content + ".", "250"));
    }

    /// <summary>Waits until every recipient of the message is in a final state (delivered, failed, cancelled).</summary>
    public async Task<StoredMessage> WaitFinalAsync(string id, TimeSpan? within = null) =>
        await WaitAsync(id, m => m.Deliveries.All(d => d.State is DeliveryState.Delivered or DeliveryState.Failed or DeliveryState.Cancelled), within);

    public async Task<StoredMessage> WaitAsync(string id, Func<StoredMessage, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var message = await Host.Store.GetAsync(id, default) ?? throw new InvalidOperationException($"no message {id}");
            if (condition(message))
                return message;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{id}: {string.Join("; ", message.Deliveries.Select(d => $"{d.Recipient} {d.State} {d.Attempts} {d.LastReply}"))}");
            await Task.Delay(50);
        }
    }

    /// <summary>The DSNs Hermod queued for <paramref name="sender"/>, as delivered to the sender's MX.</summary>
    public IReadOnlyList<ReceivedMessage> Bounces(string sender) =>
        [.. Mx.Received(Senders).Where(m => m.MailFrom.Length == 0 && m.Recipients.Contains(sender))];
}
