using Hermod.Core.Extensions;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Policy.Checks;
using Hermod.Policy.Configuration;
using Hermod.Policy.Dispatch;
using Hermod.Policy.Modifiers;
using Hermod.Policy.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Policy.Tests.Dispatch;

/// <summary>Dispatch precedence, one test per rule: which source block a sender picks, which destination block a recipient picks.</summary>
public sealed class DispatcherTests
{
    /// <summary>A block matching <paramref name="match"/> (entries with '@' are addresses, the others domains) and <paramref name="users"/>.</summary>
    private static DispatchBlock Block(string key, string[]? match = null, string[]? users = null,
        DispatchBlock[]? destination = null, DispatchBlock? @default = null) => new()
        {
            Key = key,
            Addresses = new HashSet<string>((match ?? []).Where(m => m.Contains('@', StringComparison.Ordinal)), StringComparer.OrdinalIgnoreCase),
            Domains = new HashSet<string>((match ?? []).Where(m => !m.Contains('@', StringComparison.Ordinal)), StringComparer.OrdinalIgnoreCase),
            Users = new HashSet<string>(users ?? [], StringComparer.Ordinal),
            Destination = destination ?? [],
            Default = @default,
            DeliverTo = destination is null ? ["remote"] : null,
        };

    private static DispatchBlock Sources(DispatchBlock @default, params DispatchBlock[] sources) =>
        new() { Key = "root", Source = sources, Default = @default };

    private static DispatchBlock Destinations(DispatchBlock @default, params DispatchBlock[] destinations) =>
        new() { Key = "root", Destination = destinations, Default = @default };

    // ---- source: by sender

    [Fact]
    public void Source_an_authenticated_user_beats_the_exact_sender_address()
    {
        var address = Block("address", match: ["alice@example.test"]);
        var user = Block("user", users: ["bob"]);
        var root = Sources(Block("default"), address, user);
        Assert.Same(user, Dispatcher.SourceFor(root, "alice@example.test", "bob"));
        Assert.Same(address, Dispatcher.SourceFor(root, "alice@example.test", "carol")); // another user: the address decides
        Assert.Same(address, Dispatcher.SourceFor(root, "alice@example.test", null));
    }

    [Fact]
    public void Source_the_exact_sender_address_beats_the_sender_domain()
    {
        var domain = Block("domain", match: ["example.test"]);
        var address = Block("address", match: ["alice@example.test"]);
        var root = Sources(Block("default"), domain, address);
        Assert.Same(address, Dispatcher.SourceFor(root, "alice@example.test", null));
        Assert.Same(domain, Dispatcher.SourceFor(root, "bob@example.test", null));
    }

    [Fact]
    public void Source_the_sender_domain_beats_the_default()
    {
        var fallback = Block("default");
        var domain = Block("domain", match: ["example.test"]);
        var root = Sources(fallback, domain);
        Assert.Same(domain, Dispatcher.SourceFor(root, "bob@example.test", null));
        Assert.Same(fallback, Dispatcher.SourceFor(root, "bob@example.org", null));
        Assert.Same(fallback, Dispatcher.SourceFor(root, "bob@sub.example.test", null)); // a domain is exact, not its subdomains
    }

    [Fact]
    public void Source_the_first_configured_block_wins_among_equal_matches()
    {
        var first = Block("first", match: ["example.test"]);
        var second = Block("second", match: ["example.test", "example.org"]);
        var root = Sources(Block("default"), first, second);
        Assert.Same(first, Dispatcher.SourceFor(root, "bob@example.test", null));
        Assert.Same(second, Dispatcher.SourceFor(root, "bob@example.org", null));

        var userFirst = Block("user-first", users: ["alice"]);
        var userSecond = Block("user-second", users: ["alice"]);
        Assert.Same(userFirst, Dispatcher.SourceFor(Sources(Block("default"), userFirst, userSecond), "", "alice"));
    }

    [Fact]
    public void Source_the_null_sender_matches_only_the_default()
    {
        var fallback = Block("default");
        var root = Sources(fallback, Block("domain", match: ["example.test"]), Block("address", match: ["alice@example.test"]));
        Assert.Same(fallback, Dispatcher.SourceFor(root, "", null));
    }

    [Fact]
    public void Source_addresses_and_domains_match_whatever_their_case()
    {
        var address = Block("address", match: ["Alice@Example.TEST"]);
        var domain = Block("domain", match: ["EXAMPLE.org"]);
        var root = Sources(Block("default"), address, domain);
        Assert.Same(address, Dispatcher.SourceFor(root, "alice@example.test", null));
        Assert.Same(address, Dispatcher.SourceFor(root, "ALICE@EXAMPLE.TEST", null));
        Assert.Same(domain, Dispatcher.SourceFor(root, "Bob@Example.Org", null));
    }

    [Fact]
    public void Source_blocks_the_builder_makes_match_whatever_the_case()
    {
        // The comparer of the match sets is the builder's choice: the blocks a configuration gives must ignore case too.
        var root = Built(new DispatchBlockOptions
        {
            Key = "pipelines.p",
            Source =
            [
                new() { Key = "pipelines.p.source[0]", Match = ["Alice@Example.TEST"], DeliverTo = ["discard"] },
                new() { Key = "pipelines.p.source[1]", Match = ["EXAMPLE.org"], DeliverTo = ["discard"] },
            ],
            Default = new DispatchBlockOptions { Key = "pipelines.p.default", DeliverTo = ["remote"] },
        });
        Assert.Equal("pipelines.p.source[0]", Dispatcher.SourceFor(root, "alice@example.test", null).Key);
        Assert.Equal("pipelines.p.source[1]", Dispatcher.SourceFor(root, "bob@Example.Org", null).Key);
        Assert.Equal("pipelines.p.default", Dispatcher.SourceFor(root, "bob@example.net", null).Key);
    }

    [Fact]
    public void Source_root_without_source_blocks_is_its_own_source()
    {
        var root = Block("root");
        Assert.Same(root, Dispatcher.SourceFor(root, "alice@example.test", "alice"));
    }

    // ---- destination: by recipient

    [Fact]
    public void Destination_the_exact_recipient_beats_the_recipient_domain()
    {
        var domain = Block("domain", match: ["example.test"]);
        var address = Block("address", match: ["postmaster@example.test"]);
        var root = Destinations(Block("default"), domain, address);
        Assert.Same(address, Dispatcher.DestinationFor(root, "postmaster@example.test"));
        Assert.Same(domain, Dispatcher.DestinationFor(root, "alice@example.test"));
    }

    [Fact]
    public void Destination_the_recipient_domain_beats_the_default()
    {
        var fallback = Block("default");
        var domain = Block("domain", match: ["example.test"]);
        var root = Destinations(fallback, domain);
        Assert.Same(domain, Dispatcher.DestinationFor(root, "alice@example.test"));
        Assert.Same(fallback, Dispatcher.DestinationFor(root, "alice@example.org"));
        Assert.Same(fallback, Dispatcher.DestinationFor(root, "postmaster")); // no domain at all
    }

    [Fact]
    public void Destination_the_first_configured_block_wins_among_equal_matches()
    {
        var first = Block("first", match: ["alice@example.test"]);
        var second = Block("second", match: ["alice@example.test", "bob@example.test"]);
        var root = Destinations(Block("default"), first, second);
        Assert.Same(first, Dispatcher.DestinationFor(root, "alice@example.test"));
        Assert.Same(second, Dispatcher.DestinationFor(root, "bob@example.test"));
    }

    [Fact]
    public void Destination_addresses_and_domains_match_whatever_their_case()
    {
        var address = Block("address", match: ["Postmaster@Example.TEST"]);
        var domain = Block("domain", match: ["EXAMPLE.test"]);
        var root = Destinations(Block("default"), domain, address);
        Assert.Same(address, Dispatcher.DestinationFor(root, "postmaster@example.test"));
        Assert.Same(domain, Dispatcher.DestinationFor(root, "Alice@example.Test"));
    }

    [Fact]
    public void Destination_a_source_block_without_destination_blocks_is_itself_the_leaf()
    {
        var source = Block("source", match: ["example.test"]);
        var root = Sources(Block("default"), source);
        var picked = Dispatcher.SourceFor(root, "alice@example.test", null);
        Assert.Same(source, Dispatcher.DestinationFor(picked, "anyone@example.org"));
    }

    [Fact]
    public void Destination_blocks_of_a_root_without_source_blocks()
    {
        var fallback = Block("default");
        var local = Block("local", match: ["example.test"]);
        var root = Destinations(fallback, local);
        var source = Dispatcher.SourceFor(root, "alice@example.org", "alice");
        Assert.Same(root, source);
        Assert.Same(local, Dispatcher.DestinationFor(source, "bob@example.test"));
        Assert.Same(fallback, Dispatcher.DestinationFor(source, "bob@example.net"));
    }

    // ---- source x destination

    [Fact]
    public void The_destination_is_chosen_inside_the_matched_source_block_only()
    {
        var aLocal = Block("a.local", match: ["example.test"]);
        var aDefault = Block("a.default");
        var sourceA = Block("a", match: ["a.test"], destination: [aLocal], @default: aDefault);
        var bExact = Block("b.exact", match: ["carol@example.test"]); // a better match, but in the other source block
        var bDefault = Block("b.default");
        var sourceB = Block("b", match: ["b.test"], destination: [bExact], @default: bDefault);
        var root = Sources(Block("default"), sourceA, sourceB);

        var source = Dispatcher.SourceFor(root, "alice@a.test", null);
        Assert.Same(sourceA, source);
        Assert.Same(aLocal, Dispatcher.DestinationFor(source, "carol@example.test"));
        Assert.Same(aDefault, Dispatcher.DestinationFor(source, "carol@b.test"));

        source = Dispatcher.SourceFor(root, "bob@b.test", null);
        Assert.Same(bExact, Dispatcher.DestinationFor(source, "carol@example.test"));
        Assert.Same(bDefault, Dispatcher.DestinationFor(source, "dave@example.test"));
    }

    [Fact]
    public void The_root_default_beside_source_blocks_holds_its_own_destination_blocks()
    {
        var sourceLocal = Block("source.local", match: ["example.test"]);
        var source = Block("source", users: ["alice"], destination: [sourceLocal], @default: Block("source.default"));
        var defaultLocal = Block("default.local", match: ["example.test"]);
        var defaultDefault = Block("default.default");
        var rootDefault = Block("default", destination: [defaultLocal], @default: defaultDefault);
        var root = Sources(rootDefault, source);

        var picked = Dispatcher.SourceFor(root, "mallory@example.org", null);
        Assert.Same(rootDefault, picked);
        Assert.Same(defaultLocal, Dispatcher.DestinationFor(picked, "bob@example.test"));
        Assert.Same(defaultDefault, Dispatcher.DestinationFor(picked, "bob@example.net"));
        Assert.Same(sourceLocal, Dispatcher.DestinationFor(Dispatcher.SourceFor(root, "mallory@example.org", "alice"), "bob@example.test"));
    }

    /// <summary>The root block of a pipeline built by <see cref="PipelineBuilder"/> (no components, so no services).</summary>
    private static DispatchBlock Built(DispatchBlockOptions root)
    {
        var options = new PolicyOptions();
        options.Pipelines["p"] = root;
        var builder = new PipelineBuilder(options, 256 * 1024, new ComponentRegistry<ICheck>([]), new ComponentRegistry<IModifier>([]), new ComponentRegistry<IStreamProcessor>([]), new NoServices(), TimeProvider.System,
            NullLogger<MessagePipeline>.Instance);
        return builder.Build(1)["p"].Root;
    }

    private sealed class NoServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }

    [Fact]
    public void A_reject_block_keeps_its_reply()
    {
        var root = Built(new DispatchBlockOptions
        {
            Key = "pipelines.p",
            Destination = [new() { Key = "pipelines.p.destination[0]", Match = ["abuse@example.test"], Reject = new SmtpReply(550, new(5, 7, 1), "Use the web form") }],
            Default = new DispatchBlockOptions { Key = "pipelines.p.default", DeliverTo = ["remote"] },
        });
        Assert.Equal(new SmtpReply(550, new(5, 7, 1), "Use the web form"), Dispatcher.DestinationFor(root, "Abuse@Example.test").Reject);
        Assert.Null(Dispatcher.DestinationFor(root, "bob@example.test").Reject);
    }
}
