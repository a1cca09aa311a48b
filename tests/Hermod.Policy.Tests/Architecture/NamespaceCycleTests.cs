using Hermod.Policy.Pipeline;

namespace Hermod.Policy.Tests.Architecture;

/// <summary>
/// The namespaces of Hermod.Policy depend on each other one way (configuration and the component contracts at the
/// bottom, the checks, modifiers and processors on them, dispatch and the pipeline on top, the registration above
/// all), so each can be read, and changed, without the ones above it.
/// </summary>
public sealed class NamespaceCycleTests
{
    private static readonly NamespaceGraph Graph = new(typeof(MessagePipeline).Assembly, "Hermod.Policy");

    [Fact]
    public void No_namespace_of_Hermod_Policy_depends_on_itself_through_another()
    {
        var cycles = Graph.Cycles();
        Assert.True(cycles.Count == 0, "namespaces that use each other:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void The_graph_sees_what_the_pipeline_uses()
    {
        // The reading must find real uses, or the test above passes for nothing: the pipeline builds dispatch blocks,
        // dispatch holds checks, and a modifier (DKIM signing) reads header fields.
        Assert.Contains("Hermod.Policy.Dispatch", Graph.Edges["Hermod.Policy.Pipeline"].Keys);
        Assert.Contains("Hermod.Policy.Checks", Graph.Edges["Hermod.Policy.Dispatch"].Keys);
        Assert.Contains("Hermod.Policy.Dkim", Graph.Edges["Hermod.Policy.Modifiers"].Keys);
    }
}
