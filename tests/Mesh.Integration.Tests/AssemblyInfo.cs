// Every test here runs whole regions as processes. Most of their time is spent waiting (for a mesh to
// start, a take-over, a consumer group, a command line), not computing, so two run at a time even on a
// 2-core machine; the ones that stream thousands of records a second are in the Alone collection, one at a time among themselves. (Three at a time
// cut the suite by about a minute, but a three-region drill then failed once under the load: not worth it.)
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
[assembly: TestCollectionOrderer("Mesh.Integration.Tests.Infrastructure.LongestFirst", "Mesh.Integration.Tests")]
