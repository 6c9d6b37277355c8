namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// Tests that keep both cores busy (thousands of records a second, several silos per region): xunit runs
/// this collection after every parallel one, one test at a time, so nothing else competes with them for CPU.
/// A class joins it with <c>[Collection(Alone.Name)]</c>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    public const string Name = "Alone: CPU-bound tests, run after the others, one at a time";
}
