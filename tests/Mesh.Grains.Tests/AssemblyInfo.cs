// Grain tests run in-process over in-memory Kafka and spend most of their time waiting on grain timers
// (a peer check, a take-over grace), not computing: four classes at a time even on two cores.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
