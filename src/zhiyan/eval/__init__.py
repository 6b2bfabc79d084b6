"""`zhiyan eval …`: one module per benchmark, each adding its command to this group.

A module listed in MODULES defines `register(eval_app: typer.Typer)`; adding a benchmark
is one new module and one name here.
"""

from __future__ import annotations

from importlib import import_module

import typer

eval_app = typer.Typer(help="Measure zhiyan: each command prints figures against a baseline.",
                       no_args_is_help=True)

MODULES = ["lang", "qa", "continual", "chid", "turn"]

for _name in MODULES:
    import_module(f"zhiyan.eval.{_name}").register(eval_app)
