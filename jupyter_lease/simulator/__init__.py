"""A local ModelArts on 127.0.0.1 for the demo, the tests and the benchmarks: a peer of the real
provider, speaking the same HTTP, with faults to inject."""
