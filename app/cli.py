"""The `answerdesk` command: administration that needs no running server."""

from pathlib import Path
from typing import Annotated

import typer

from app.auth import service as auth_service
from app.db import make_engine, make_session_factory
from app.errors import AnswerdeskError
from app.migrate import upgrade_database
from app.settings import get_settings

cli = typer.Typer(help="Answerdesk administration.", no_args_is_help=True)
token_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")


def _session():  # type: ignore[no-untyped-def]
    settings = get_settings()
    upgrade_database(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))()


@token_cli.command("create")
def create_token(
    role: Annotated[str, typer.Option(help="admin, editor or operator")],
    name: Annotated[str, typer.Option(help="who or what uses it")] = "cli",
) -> None:
    """Prints a new token once; only its hash is stored."""
    with _session() as session:
        row, plain = auth_service.create_token(session=session, name=name, role=role)
        session.commit()
        typer.echo(f"id={row.id} role={row.role} token={plain}")


@token_cli.command("list")
def list_tokens() -> None:
    with _session() as session:
        for row in auth_service.list_tokens(session=session):
            state = "revoked" if row.revoked_at else "active"
            typer.echo(f"{row.id}\t{row.role}\t{state}\t{row.name}")


@token_cli.command("revoke")
def revoke_token(token_id: int) -> None:
    with _session() as session:
        auth_service.revoke_token(session=session, token_id=token_id)
        session.commit()
        typer.echo(f"revoked {token_id}")


@cli.command("import")
def import_articles(
    path: Annotated[Path, typer.Argument(exists=True, help="a file, a .zip, or a folder")],
    atomic: Annotated[bool, typer.Option(help="store nothing if any row is rejected")] = False,
    author: Annotated[str, typer.Option(help="recorded in revisions and the audit log")] = "cli",
) -> None:
    """Imports JSON, CSV, Markdown (or .zip) and HTML articles; upsert by id."""
    from app.kb import bulk

    settings = get_settings()
    files = bulk.files_to_import(path)
    try:
        report = _import_files(path, files, settings, atomic=atomic, author=author)
    except AnswerdeskError as exc:  # a malformed file, a limit, an atomic import with bad rows
        for row in exc.extra.get("rejected", []):
            typer.echo(f"rejected {row['file']}:{row['line'] or '-'} {row['reason']}", err=True)
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    for row in report.rejected:
        typer.echo(f"rejected {row.file}:{row.line or '-'} {row.id or ''} {row.reason}", err=True)
    typer.echo(
        f"created={report.created} updated={report.updated} "
        f"unchanged={report.unchanged} rejected={len(report.rejected)}"
    )


def _import_files(path, files, settings, *, atomic, author):  # type: ignore[no-untyped-def]
    from rich.progress import Progress

    from app.kb import bulk
    from app.kb.importers import parse_upload

    with _session() as session, Progress() as progress:
        reading = progress.add_task("reading", total=len(files))
        parsed: list = []  # type: ignore[type-arg]
        for file in files:
            with file.open("rb") as stream:
                parsed += parse_upload(
                    str(file.relative_to(path) if path.is_dir() else file.name),
                    stream,
                    max_rows=settings.kb_max_import_rows,
                    max_bytes=settings.kb_max_upload_bytes,
                )
            progress.advance(reading)
        writing = progress.add_task("writing", total=None)
        report = bulk.import_articles(
            session=session,
            parsed=parsed,
            author=author,
            atomic=atomic,
            default_language=settings.default_language,
            progress=lambda done, total: progress.update(writing, completed=done, total=total),
        )
        session.commit()
    return report


telegram_cli = typer.Typer(help="The Telegram channel.", no_args_is_help=True)
cli.add_typer(telegram_cli, name="telegram")


@telegram_cli.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[str, typer.Argument(help="public HTTPS URL of /webhooks/telegram")],
) -> None:
    """Points the bot at URL, with ANSWERDESK_TELEGRAM_WEBHOOK_SECRET as its secret_token."""
    import re

    import httpx

    from app.channels.telegram import set_webhook

    settings = get_settings()
    secret = settings.telegram_webhook_secret or ""
    if not settings.telegram_bot_token or not secret:
        typer.echo("Set ANSWERDESK_TELEGRAM_BOT_TOKEN and ANSWERDESK_TELEGRAM_WEBHOOK_SECRET.")
        raise typer.Exit(2)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        typer.echo("The webhook secret may hold only A-Z, a-z, 0-9, _ and - (1-256 characters).")
        raise typer.Exit(2)
    with httpx.Client(timeout=30) as client:
        try:
            answer = set_webhook(settings=settings, url=url, client=client)
        except httpx.HTTPError as exc:
            typer.echo(f"Telegram did not answer: {type(exc).__name__}")
            raise typer.Exit(1) from exc
    if not answer.get("ok"):
        typer.echo(f"Telegram refused: {answer.get('description')}")
        raise typer.Exit(1)
    typer.echo(f"webhook set to {url}")


def main() -> None:
    cli()
