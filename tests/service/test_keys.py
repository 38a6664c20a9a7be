"""API keys: stored hashed, bound to a role and tenant, revocable."""

import json

import pytest
from sqlalchemy import select

from cx_context.service.keys import ApiKeyError, ApiKeyRow, Role


def test_a_key_verifies_until_it_is_revoked(services) -> None:  # type: ignore[no-untyped-def]
    key = services.api_keys.create(Role.BOT, tenant="acme", label="web bot")

    assert key.token is not None and key.token.startswith("cxk_")
    found = services.api_keys.verify(key.token)
    assert found is not None
    assert (found.key_id, found.role, found.tenant) == (key.key_id, Role.BOT, "acme")
    assert found.token is None

    services.api_keys.revoke(key.key_id)

    assert services.api_keys.verify(key.token) is None
    assert [k.key_id for k in services.api_keys.list()] == []
    assert [k.key_id for k in services.api_keys.list(include_revoked=True)] == [
        key.key_id
    ]


def test_the_store_holds_a_hash_never_the_secret(services) -> None:  # type: ignore[no-untyped-def]
    key = services.api_keys.create("agent")
    assert key.token is not None
    secret = key.token.split("_", 2)[2]

    with services.sessions() as session:
        row = session.scalars(select(ApiKeyRow)).one()

    assert secret not in row.secret_hash
    assert len(row.secret_hash) == 64


@pytest.mark.parametrize(
    "token",
    ["", "cxk_", "cxk__secret", "Bearer x", "cxk_0011223344556677_wrong", "é" * 10],
)
def test_when_a_token_is_malformed_or_wrong_then_it_verifies_as_nobody(
    services,  # type: ignore[no-untyped-def]
    token: str,
) -> None:
    real = services.api_keys.create("admin")
    assert real.token is not None
    wrong_secret = f"cxk_{real.key_id}_{'x' * 43}"

    assert services.api_keys.verify(token) is None
    assert services.api_keys.verify(wrong_secret) is None


def test_an_unknown_role_is_refused_with_the_allowed_ones(services) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        ApiKeyError, match=r"role must be one of agent, bot, .* got 'root'"
    ):
        services.api_keys.create("root")


def _run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from cx_context.service.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_keys_from_the_command_line_are_shown_once_listed_and_revoked(
    capsys,  # type: ignore[no-untyped-def]
    tmp_path,
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]

    code, out, err = _run(capsys, *data, "keys", "create", "--role", "risk")
    assert code == 0
    token = out.strip()
    assert token.startswith("cxk_")
    assert "cannot be shown again" in err

    code, out, _ = _run(capsys, *data, "keys", "list", "--json")
    listed = json.loads(out)["keys"]
    assert [k["role"] for k in listed] == ["risk"]
    assert token not in out and "key" not in listed[0]

    code, out, _ = _run(capsys, *data, "keys", "revoke", listed[0]["key_id"])
    assert code == 0
    code, out, _ = _run(capsys, *data, "keys", "list", "--json")
    assert json.loads(out)["keys"] == []

    code, _, err = _run(capsys, *data, "keys", "revoke", "no-such-key")
    assert code == 1
    assert "no API key with id 'no-such-key'" in err
    assert "Traceback" not in err


def test_a_key_made_without_a_tenant_is_listed_for_the_default_tenant(
    capsys,  # type: ignore[no-untyped-def]
    tmp_path,
    monkeypatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    data = ["--data-dir", str(tmp_path / "data")]
    _run(capsys, *data, "keys", "create", "--role", "agent")
    _run(capsys, *data, "keys", "create", "--role", "bot", "--tenant", "acme")

    code, out, _ = _run(capsys, *data, "keys", "list")

    assert code == 0
    rows = {
        line.split("│")[2].strip(): line for line in out.splitlines() if "│" in line
    }
    assert rows["agent"].split("│")[3].strip() == "(default)"
    assert rows["bot"].split("│")[3].strip() == "acme"
    assert " all " not in out


def test_keys_list_shows_whole_ids_on_a_narrow_terminal(
    capsys,  # type: ignore[no-untyped-def]
    tmp_path,
    monkeypatch,
) -> None:
    """`keys revoke` takes the whole id, so the table never shortens it."""
    monkeypatch.setenv("COLUMNS", "80")
    data = ["--data-dir", str(tmp_path / "data")]
    label = "the contact-centre bot of the northern region, second line"
    _run(capsys, *data, "keys", "create", "--role", "bot", "--label", label)
    _, out, _ = _run(capsys, *data, "keys", "list", "--json")
    [key] = json.loads(out)["keys"]

    code, out, _ = _run(capsys, *data, "keys", "list")

    assert code == 0
    assert key["key_id"] in out
