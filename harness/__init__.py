"""Helpers the tests and the benchmarks share (neither imports the other): starting the
app on a free port and waiting until it is healthy, the headless Chromium settings, and
latency percentiles. Not used by the app itself."""
