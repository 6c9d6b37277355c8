// Every test here runs whole regions as processes. Most of their time is spent waiting (for a mesh to
// start, a take-over, a consumer group, a command line), not computing, so three run at a time even on a
// 2-core machine (the suite passed with helpers' builds and benches loading the machine to 13); the ones that
// stream thousands of records a second are in the Alone collection.
[assembly: CollectionBehavior(MaxParallelThreads = 3)]
[assembly: TestCollectionOrderer("Mesh.Integration.Tests.Infrastructure.LongestFirst", "Mesh.Integration.Tests")]
