namespace Hermod.Core.Pipeline;

/// <summary>The pipelines by name, and the one each entry point (SMTP listener or HTTP submission) uses.</summary>
public sealed class PipelineSet(IReadOnlyDictionary<string, IMessagePipeline> pipelines, IMessagePipeline fallback)
{
    /// <summary>The pipeline named <paramref name="name"/>; null: the default one (no checks, everything to "remote").</summary>
    public IMessagePipeline For(string? name) => name is not null && pipelines.TryGetValue(name, out var pipeline) ? pipeline : fallback;
}
