"""beatmap package."""
