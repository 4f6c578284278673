"""The evidence API (heads, proofs, receipts; the public key list) and the `claimwatch evidence` commands:
a receipt written by the CLI verifies offline with only the public key, and a tampered copy is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from claimwatch.cli import app as cli_app
from claimwatch.evidence import merkle
from tests.apps import shared_app
from tests.evidence.receipt_world import CLAIM, DOCUMENT, Evidence, build
from tests.factories import World
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

API = "/api/v1/evidence"


@pytest.fixture
def evidence(world: World, db_snapshot: Snapshot) -> Evidence:
    return db_snapshot("evidence.h2", lambda: build(world))


def test_heads_proofs_receipts_and_keys_over_the_api(evidence: Evidence) -> None:
    client = TestClient(shared_app())
    admin = {"X-API-Key": evidence.admin_key}
    quality = {"X-API-Key": evidence.quality_key}
    assert client.get(f"{API}/heads/latest", headers=admin).status_code == 404  # nothing signed yet
    assert client.post(f"{API}/heads", headers=quality).status_code == 403  # signing is an admin's
    first = client.post(f"{API}/heads", headers=admin)
    assert first.status_code == 201, first.text
    receipt = client.get(f"{API}/receipts/claims/{CLAIM}", headers=quality)
    assert receipt.status_code == 200 and receipt.json()["claim"] == CLAIM
    second = client.post(f"{API}/heads", headers=admin).json()
    assert second["tree_size"] > first.json()["tree_size"] and second["tenant"] == "ACME"

    page = client.get(f"{API}/heads", headers=quality, params={"limit": 1}).json()
    assert [h["tree_size"] for h in page["items"]] == [second["tree_size"]]
    assert page["next_below_size"] == second["tree_size"]
    older = client.get(f"{API}/heads", headers=quality, params={"below_size": page["next_below_size"]}).json()
    assert [h["tree_size"] for h in older["items"]] == [first.json()["tree_size"]]
    assert client.get(f"{API}/heads/latest", headers=quality).json() == second

    # Proofs check out against the signed roots.
    proof = client.get(f"{API}/proofs/inclusion", headers=quality, params={"seq": 2}).json()
    assert proof["root_hash"] == second["root_hash"] and proof["tree_size"] == second["tree_size"]
    merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        1,
        proof["tree_size"],
        [bytes.fromhex(p) for p in proof["path"]],
        bytes.fromhex(second["root_hash"]),
    )
    sizes = {"first": first.json()["tree_size"], "second": second["tree_size"]}
    consistency = client.get(f"{API}/proofs/consistency", headers=quality, params=sizes).json()
    merkle.verify_consistency(
        sizes["first"],
        sizes["second"],
        bytes.fromhex(first.json()["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(p) for p in consistency["path"]],
    )
    bad = client.get(f"{API}/proofs/consistency", headers=quality, params={"first": 5, "second": 2})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "first"
    entry = client.get(f"{API}/receipts/entries/{evidence.document_seq}", headers=quality).json()
    assert entry["seq"] == evidence.document_seq and entry["tree_head"]["size"] == second["tree_size"]
    assert client.get(f"{API}/receipts/claims/NOPE", headers=quality).status_code == 404
    assert client.get(f"{API}/heads", headers=quality, params={"tenant": "BBB"}).status_code == 404

    # The public key list needs no sign-in.
    keys = client.get(f"{API}/keys").json()
    assert [(k["tenant"], k["key_id"], k["retired_at"]) for k in keys] == [("ACME", second["key_id"], None)]

    # The regulator names the insurer and reads; it signs nothing.
    sign_in(client, "cbirc")
    assert client.get(f"{API}/heads").status_code == 422
    assert client.get(f"{API}/heads/latest", params={"tenant": "ACME"}).json() == second
    assert client.get(f"{API}/heads/latest", params={"tenant": "NOPE"}).status_code == 404
    assert client.get(f"{API}/receipts/claims/{CLAIM}", params={"tenant": "ACME"}).status_code == 200
    late = client.get(f"{API}/receipts/entries/{second['tree_size'] + 1}", params={"tenant": "ACME"})
    assert late.status_code == 409 and "no signed tree head covers" in late.json()["detail"]
    assert client.get(f"{API}/heads/latest", params={"tenant": "BBB"}).status_code == 404  # BBB signed none


def test_the_cli_writes_a_receipt_that_verifies_offline_and_refuses_a_tampered_copy(
    evidence: Evidence, tmp_path: Path
) -> None:
    runner = CliRunner()
    receipt_file, document = tmp_path / "receipt.json", tmp_path / "invoice.pdf"
    document.write_bytes(DOCUMENT)
    written = runner.invoke(
        cli_app, ["evidence", "receipt", "--tenant", "ACME", "--claim", CLAIM, "-o", str(receipt_file)]
    )
    assert written.exit_code == 0, written.output
    receipt = json.loads(receipt_file.read_text())
    public_key = receipt["entries"][0]["public_key"]

    ok = runner.invoke(
        cli_app, ["evidence", "verify", str(receipt_file), "--document", str(document), "--public-key", public_key]
    )
    assert ok.exit_code == 0, ok.output
    assert f"verified: ACME claim {CLAIM}" in ok.output and "fingerprint recorded in entry" in ok.output

    hashed = bytearray(bytes.fromhex(receipt["entries"][1]["proof"]["path"][0]))
    hashed[7] ^= 0x10  # one flipped bit
    receipt["entries"][1]["proof"]["path"][0] = hashed.hex()
    receipt_file.write_text(json.dumps(receipt))
    refused = runner.invoke(cli_app, ["evidence", "verify", str(receipt_file), "--public-key", public_key])
    assert refused.exit_code == 1 and "NOT VERIFIED: entries[1].proof.path[0]" in refused.output

    assert runner.invoke(cli_app, ["evidence", "check", "--tenant", "ACME"]).exit_code == 0
    signed = runner.invoke(cli_app, ["evidence", "sign", "--tenant", "BBB"])
    assert signed.exit_code == 0 and "BBB: signed the head of" in signed.output
    listed = runner.invoke(cli_app, ["evidence", "heads", "--tenant", "BBB"])
    assert listed.exit_code == 0 and "manual" in listed.output
    one = runner.invoke(cli_app, ["evidence", "receipt", "--tenant", "ACME", "--seq", "1"])
    assert one.exit_code == 0 and json.loads(one.output)["seq"] == 1
    assert runner.invoke(cli_app, ["evidence", "receipt", "--tenant", "ACME"]).exit_code == 1
