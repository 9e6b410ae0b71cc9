"""``python -m sampleweb build|serve``: generate the synthetic sample web and serve it on loopback.

The sample web is a development harness, not part of the installed product, so it has its own
command (run from a clone) rather than a ``beatmap`` subcommand.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import click

from beatmap.cli import BeatmapGroup
from beatmap.commands.common import UserError, get_config
from sampleweb.area import DEFAULT_BEATS, load_area_from_db, load_area_from_files
from sampleweb.generate import DEMO_PAGES, build
from sampleweb.server import SampleWeb
from storage.config import Config, ConfigError


@click.group("sampleweb", cls=BeatmapGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL for --from-db (setting `db`, env BEATMAP_DB).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def sampleweb(ctx: click.Context, db: str | None, debug: bool) -> None:
    """The synthetic sample web: a realistic local web served on 127.0.0.1, with ground truth.

    It is generated sample data for offline development, demos, tests and benchmarks; every
    site lives under a reserved .example name and nothing real is contacted.
    """
    try:
        config = Config.load({"db": db})
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    ctx.obj = {"config": config, "debug": debug}


def _where(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected PROPERTY=VALUE, got {item!r}", param_hint="--where")
        out[key.strip()] = value.strip()
    return out


@sampleweb.command("build")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed; same seed, same web.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder to write to.")
@click.option("--pages", type=click.IntRange(min=300), default=DEMO_PAGES, show_default=True,
              help="Approximate number of pages (the size knob; 100000+ for benchmarks).")
@click.option("--beats", "beats_file", type=click.Path(path_type=Path), default=None,
              help=f"Beats GeoJSON (default: {DEFAULT_BEATS.name}).")
@click.option("--where", multiple=True, metavar="PROP=VALUE",
              help="Keep only beats whose property has this value, e.g. lad_name=Worthing (repeatable).")
@click.option("--key-prop", help="Beat property holding the key (guessed when omitted).")
@click.option("--name-prop", help="Beat property holding the name (guessed when omitted).")
@click.option("--from-db", is_flag=True, help="Use the beats, places and postcodes imported into the database.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The 'today' posts are dated against (default: today, UTC).")
@click.pass_context
def build_command(ctx: click.Context, seed: int, out_dir: Path, pages: int, beats_file: Path | None,
                  where: tuple[str, ...], key_prop: str | None, name_prop: str | None, from_db: bool,
                  as_of: datetime | None) -> None:
    """Generate a sample web into OUT: site_spec.json, ground_truth.json and seeds.csv."""
    if from_db and (beats_file or where):
        raise click.UsageError("--from-db takes the area from the database; drop --beats/--where")
    if from_db:
        area = load_area_from_db(get_config(ctx).db)
    else:
        area = load_area_from_files(beats_file or DEFAULT_BEATS, where=_where(where),
                                    key_property=key_prop, name_property=name_prop)
    day: date = as_of.date() if as_of else datetime.now(UTC).date()
    result = build(out_dir, seed=seed, area=area, pages=pages, as_of=day)
    click.echo(f"sample web for {area.name} ({len(area.beats)} beats), seed {seed}, as of {day}: "
               f"{result.venues} venues ({result.crawlable_venues} crawlable), {result.posts} posts, "
               f"{result.pages} pages, built in {result.seconds:.1f} s")
    click.echo(f"wrote {out_dir}/site_spec.json, ground_truth.json, seeds.csv")
    click.echo(f"serve it with: python -m sampleweb serve {out_dir}")


@sampleweb.command("serve")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8155, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--slow-delay", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Seconds each page of the slow host waits before answering.")
def serve_command(directory: Path, port: int, slow_delay: float) -> None:
    """Serve a built sample web on 127.0.0.1 as an HTTP proxy until Ctrl-C."""
    web = SampleWeb.start(directory, port=port, slow_delay=slow_delay)
    try:
        click.echo(f"sample web (synthetic, offline) serving {len(web.world.hosts)} hosts on {web.proxy_url}")
        click.echo("point the crawler at it with:")
        click.echo(f"  export BEATMAP_PROXY={web.proxy_url}")
        click.echo("  export BEATMAP_ALLOW_PRIVATE_HOSTS=127.0.0.1")
        click.echo(f"  beatmap seeds import {directory}/seeds.csv && beatmap crawl")
        click.echo(f"or by hand: curl -x {web.proxy_url} {web.world.spec['seeds'][0]['url']}")
        click.echo("Ctrl-C stops it.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo(f"\nstopped after {len(web.request_log)} requests")
    finally:
        web.stop()
