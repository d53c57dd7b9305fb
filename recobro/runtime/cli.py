"""The ``recobro`` command line (typer + rich). Messages are Spanish first, English second.

Each command group lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="recobro",
    help=(
        "Recobro: marcador predictivo, IVR y ACD para cobranza temprana. / "
        "Predictive dialer, IVR and ACD for early collections."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from recobro.runtime import cli_asterisk, cli_db, cli_demo, cli_import, cli_serve, cli_simulate

    app.add_typer(cli_db.app, name="db")
    app.add_typer(cli_import.app, name="import")
    cli_simulate.register(app)
    app.add_typer(cli_demo.app, name="demo")
    cli_serve.register(app)
    from recobro.runtime import cli_ivr

    cli_ivr.register(app)
    app.add_typer(cli_asterisk.app, name="asterisk")


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
