namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// Tests that keep both cores busy (thousands of records a second, several silos per region): one at a time among
/// themselves, beside one other class at most (the suite runs two collections at a time). The collection is the
/// longest, so it starts first (<see cref="LongestFirst"/>). Run after the others and alone, they made a tail of
/// three minutes on one thread with the other idle.
/// A class joins it with <c>[Collection(Alone.Name)]</c>.
/// </summary>
[CollectionDefinition(Name)]
public sealed class Alone
{
    public const string Name = "Alone: CPU-bound tests, one at a time";
}
