"""The ``beatmap`` subcommands, one module per area, registered by :mod:`beatmap.cli`."""
