"""``python -m sampleweb``: build or serve the synthetic sample web."""

from sampleweb.cli import sampleweb

sampleweb(prog_name="python -m sampleweb")
