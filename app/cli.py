"""The `answerdesk` command: administration that needs no running server."""

from typing import Annotated

import typer

from app.auth import service as auth_service
from app.db import make_engine, make_session_factory
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


def main() -> None:
    cli()
