"""`claimwatch risk …`: check a red-flag file, train a model on the insurer's review labels (with its model card),
list versions, show a card, activate, export and import a model; `risk fairness` (降赔惜赔) is h5's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import tenant_id_of
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.risk.fairness_cli import fairness

app = typer.Typer(help="Risk (理赔风险预警): red flags, models, the review queue", no_args_is_help=True)
console = Console(soft_wrap=True)
app.command("fairness")(fairness)


def _operator(tenant_id: int, source: str) -> Principal:
    """Who the audit trail names for a command-line run (with a quality manager's rights)."""
    return Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor=f"cli:{source}"[:100])


@app.command("check")
def check(file: Path = typer.Argument(..., help="a red-flag YAML file (see defaults/risk/red_flags.yaml)")) -> None:
    """Validate a red-flag file; any error names the file and line."""
    from claimwatch.risk.loader import RedFlagError, load_file

    try:
        flags = load_file(file)
    except RedFlagError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{file}: version {flags.version}, {len(flags.flags)} flags, digest {flags.digest[:12]}")
    for flag in flags.flags:
        console.print(f"  {flag.code} (+{flag.points}): {flag.when.describe()}")


def _print_card(card: dict[str, Any]) -> None:
    metrics = card.get("metrics", {})
    window = card.get("training_window", {})
    holdout = card.get("holdout", {})
    console.print(f"[bold]{card.get('title', 'Risk model')}[/bold] — {card.get('method', '')}")
    console.print(f"training window {window.get('from')} … {window.get('until')}; hold-out from {holdout.get('from')}")
    auc = metrics.get("holdout_auc")
    points_auc = metrics.get("holdout_points_auc")
    console.print(
        f"hold-out: {holdout.get('size')} claims ({holdout.get('positives')} fraud confirmed); "
        f"AUC {auc:.3f}"
        + (f" (red-flag points alone {points_auc:.3f})" if points_auc is not None else "")
        + f"; Brier {metrics.get('holdout_brier', 0):.4f} (base rate {metrics.get('holdout_brier_base_rate', 0):.4f})"
        if auc is not None
        else "hold-out AUC: not measurable"
    )
    table = Table("predicted", "claims", "mean predicted", "observed")
    for row in metrics.get("reliability", []):
        table.add_row(
            f"{row['from']:.1f}–{row['to']:.1f}",
            str(row["count"]),
            "" if row["predicted"] is None else f"{row['predicted']:.3f}",
            "" if row["observed"] is None else f"{row['observed']:.3f}",
        )
    console.print(table)
    top = ", ".join(f"{c['feature']} {c['coefficient']:+.2f}" for c in card.get("coefficients", [])[:6])
    console.print(f"strongest features: {top}")


@app.command("train")
def train(
    tenant: str = typer.Option(..., help="the insurer's code"),
    holdout: float = typer.Option(0.2, min=0.05, max=0.5, help="share of the latest labelled claims held out"),
    activate: bool = typer.Option(False, "--activate", help="make the new version the active one"),
    c: float = typer.Option(1.0, min=0.0001, max=1000, help="inverse L2 regularisation strength"),
    now: NowOption = None,
) -> None:
    """Train a new model version on the insurer's review labels and print its model card. Too few labels: an
    error with the counts, nothing stored."""
    from claimwatch.errors import Problem
    from claimwatch.risk import model_training

    tenant_id = tenant_id_of(tenant)
    at = parse_now(now)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            model = model_training.train(
                session, _operator(tenant_id, "risk train"), holdout=holdout, activate=activate, c=c, now=at
            )
            card, version, status = model.card, model.version, model.status
    except Problem as exc:
        raise fail(exc.message) from exc
    console.print(f"{tenant}: risk model version {version} ({status})")
    _print_card(card)


@app.command("models")
def models(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """The model versions, newest first."""
    from claimwatch.risk import queries

    with unit_of_work(TenantContext.for_tenant(tenant_id_of(tenant))) as session:
        rows = queries.models(session)
    table = Table("version", "status", "labels", "positives", "hold-out AUC", "Brier", "trained", "by")
    for row in rows:
        auc, brier = row["holdout_auc"], row["holdout_brier"]
        table.add_row(
            str(row["version"]),
            row["status"],
            str(row["labels"]),
            str(row["positives"]),
            "—" if auc is None else f"{auc:.3f}",
            "—" if brier is None else f"{brier:.4f}",
            row["created_at"][:16],
            row["created_by"],
        )
    console.print(table)


@app.command("card")
def card(
    tenant: str = typer.Option(..., help="the insurer's code"),
    version: int = typer.Option(..., min=1, help="the model version"),
) -> None:
    """A model version's card: window, features, hold-out AUC and calibration."""
    from claimwatch.risk import repository

    with unit_of_work(TenantContext.for_tenant(tenant_id_of(tenant))) as session:
        model = repository.model_by_version(session, version)
        if model is None:
            raise fail(f"no risk model version {version}")
        found = dict(model.card)
    _print_card(found)


@app.command("activate")
def activate(
    tenant: str = typer.Option(..., help="the insurer's code"),
    version: int = typer.Option(..., min=1, help="the model version"),
) -> None:
    """Make a version the active one (refused when its features do not match the red flags in force)."""
    from claimwatch.errors import Problem
    from claimwatch.risk import model_training

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            model_training.activate_version(session, _operator(tenant_id, "risk activate"), version)
    except Problem as exc:
        raise fail(exc.message) from exc
    console.print(f"{tenant}: risk model version {version} is active")


@app.command("export")
def export(
    tenant: str = typer.Option(..., help="the insurer's code"),
    version: int = typer.Option(..., min=1, help="the model version"),
    out: Path = typer.Option(..., "--out", help="the JSON file to write"),
) -> None:
    """Write a model version to a JSON file (numbers only, no pickle)."""
    from claimwatch.risk import model_training, repository

    with unit_of_work(TenantContext.for_tenant(tenant_id_of(tenant))) as session:
        model = repository.model_by_version(session, version)
        if model is None:
            raise fail(f"no risk model version {version}")
        document = model_training.export_model(model)
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"{out}: risk model version {version}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="a model file written by `risk export`"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    activate: bool = typer.Option(False, "--activate", help="make it the active version"),
) -> None:
    """Store a model file as a new version; refused (nothing stored) when its features do not match."""
    from claimwatch.errors import Problem
    from claimwatch.risk import model_training

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"{file}: not a readable JSON file ({exc})") from exc
    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            model = model_training.import_model(
                session, _operator(tenant_id, f"risk import {file.name}"), document, activate=activate
            )
            version = model.version
    except Problem as exc:
        raise fail(f"{file}: {exc.message}") from exc
    console.print(f"{tenant}: risk model version {version} imported from {file}")
