using Hermod.Core.Extensions;
using Hermod.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Hermod.Policy.Processors;

/// <summary>The built-in stream processors; <see cref="Default"/> is the chain of a pipeline that names none.</summary>
public static class BuiltInProcessors
{
    /// <summary>The chain when none is configured: the Received header and the content hash (identical bodies stored once).</summary>
    public static IReadOnlyList<IStreamProcessor> Default { get; } = [new TraceHeaderProcessor(), new HashProcessor()];

    /// <summary>The built-in stream processors under their names (options in config/hermod.reference.yaml).</summary>
    public static IReadOnlyList<ComponentRegistration<IStreamProcessor>> All { get; } =
    [
        new("trace_header", c =>
        {
            c.Config.Known();
            return new TraceHeaderProcessor();
        }),
        new("hash", c =>
        {
            c.Config.Known();
            return new HashProcessor();
        }),
        new("compress", c =>
        {
            c.Config.Known("level");
            var level = c.Config.String("level") ?? "fastest";
            if (level is not ("fastest" or "optimal" or "smallest"))
                c.Config.Error("level", $"'{level}' is not one of fastest, optimal, smallest");
            return new CompressProcessor(level switch { "optimal" => 5, "smallest" => 11, _ => 1 });
        }),
        new("size_limit", c =>
        {
            c.Config.Known("max");
            var max = c.Config.Size("max", 1, 1L << 40);
            if (max is null && !c.Config.Has("max"))
                c.Config.Error("max", "is required (e.g. 10MB)");
            return new SizeLimitProcessor(max ?? long.MaxValue);
        }),
        new("debug", c =>
        {
            c.Config.Known("preview");
            var preview = c.Config.Size("preview", 0, 64 * 1024) ?? 200;
            var logger = ((ILoggerFactory?)c.Services.GetService(typeof(ILoggerFactory)))?.CreateLogger("Hermod.Debug")
                ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            return new DebugProcessor(logger, (int)preview);
        }),
    ];
}
