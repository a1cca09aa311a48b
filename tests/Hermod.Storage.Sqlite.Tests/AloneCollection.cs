namespace Hermod.Storage.Sqlite.Tests;

/// <summary>Tests that measure the whole process (its live heap): xunit runs this collection alone, after every parallel one.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}
