using System.CommandLine;
using Mesh.Bench;

// `Mesh.Bench`: measurements of the pure core, one verb per structure.
var root = new RootCommand("Measure the memory and speed of Mesh's core data structures") { KeyIndexBenchmark.Create() };
return await root.Parse(args).InvokeAsync();
