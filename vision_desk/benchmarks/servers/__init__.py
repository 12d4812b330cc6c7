"""Real servers the benchmarks (and the tests) run against: an RTSP camera that can be killed and restarted."""
