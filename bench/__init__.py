"""beatmap's benchmarks (``make bench``): one ``bench_<area>.py`` module per area."""
