using Hermod.Core.Smtp;

namespace Hermod.Policy.Configuration;

/// <summary>
/// A dispatch block. The pipeline itself is the root block; it may hold <see cref="Source"/> blocks (matched by
/// sender) or <see cref="Destination"/> blocks (matched by recipient) with a <see cref="Default"/>; a source block
/// (and the root's default) may hold destination blocks. A block that holds none ends in <see cref="DeliverTo"/>
/// or <see cref="Reject"/>.
/// </summary>
public sealed class DispatchBlockOptions
{
    /// <summary>Where the block is configured, for errors: "pipelines.in.source[0]".</summary>
    public string Key { get; set; } = "";

    /// <summary>Addresses (exact) and domains this block matches.</summary>
    public List<string> Match { get; set; } = [];

    /// <summary>A table file with more addresses and domains, one per line ('#' comments).</summary>
    public string? Table { get; set; }

    /// <summary>Source blocks only: authenticated users this block matches.</summary>
    public List<string> Users { get; set; } = [];

    public List<ComponentSpec> Checks { get; set; } = [];
    public List<ComponentSpec> Modifiers { get; set; } = [];
    /// <summary>The pipeline (root block) only: stream processors in order; null: trace_header, hash.</summary>
    public List<ComponentSpec>? Processors { get; set; }
    public List<DispatchBlockOptions> Source { get; set; } = [];
    public List<DispatchBlockOptions> Destination { get; set; } = [];
    public DispatchBlockOptions? Default { get; set; }
    public List<string>? DeliverTo { get; set; }
    /// <summary>The refusal a block ends in (reject: code, enhanced, text).</summary>
    public SmtpReply? Reject { get; set; }
}
