//! Timing and peak-memory measurement shared by the benchmarks.
