"""``beatmap purge``: apply the retention periods."""

from __future__ import annotations

import click

from beatmap.commands.common import get_config
from storage.audit import cli_actor
from storage.db import open_engine, session_scope
from storage.retention import purge


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--post-days", type=int, help="Override setting retention_post_days.")
@click.option("--audit-days", type=int, help="Override setting retention_audit_days.")
@click.pass_context
def purge_command(ctx: click.Context, dry_run: bool, post_days: int | None,
                  audit_days: int | None) -> None:
    """Erase post text and evidence past the retention period (and old audit entries).

    Tags derived from erased text go with it; the erasure is recorded in the audit log.
    Running it again erases nothing more.
    """
    config = get_config(ctx)
    engine = open_engine(config.db)
    with session_scope(engine) as session:
        report = purge(session,
                       post_days=config.retention_post_days if post_days is None else post_days,
                       audit_days=config.retention_audit_days if audit_days is None else audit_days,
                       actor=cli_actor(), dry_run=dry_run)
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb}: text of {report.posts_erased} posts older than "
               f"{report.post_cutoff:%Y-%m-%d}, link evidence of {report.links_cleared} links, "
               f"{report.audit_deleted} audit entries older than {report.audit_cutoff:%Y-%m-%d}")
