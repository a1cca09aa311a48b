using Hermod.Core.Storage;

namespace Hermod.Core.Pipeline;

/// <summary>
/// A stream processor (go-guerrilla's idea): a named stage every body passes through, in configured order, while it
/// streams to storage — a trace header, the content hash, compression, a size limit, debug logging. Built from
/// configuration by name like checks and modifiers.
/// </summary>
public interface IStreamProcessor
{
    string Name { get; }

    /// <summary>Starts one body; <paramref name="blob"/> is where it is stored (a processor may set its content hash or encoding).</summary>
    IBodyFilter Begin(BodyContext context, IBlobWriter blob);
}
