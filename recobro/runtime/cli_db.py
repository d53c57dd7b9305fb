"""``recobro db``: database migrations."""

from __future__ import annotations

import typer

app = typer.Typer(help="Base de datos / Database", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Aplica las migraciones pendientes. / Apply pending migrations."""
    from recobro.runtime.settings import load_settings
    from recobro.storage.migrate import upgrade_to_head

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.effective_database_url)
    typer.echo("Base de datos al día. / Database up to date.")
