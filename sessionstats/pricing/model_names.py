"""One model is one row: the names a model is recorded under (dated ids, `provider/` prefixes) as one identity.

The identity is the price data's own model id (genai-prices: `claude-sonnet-4-5-20250929` and
`claude-sonnet-4-5` are both `claude-sonnet-4-5`); a name the price data lacks is its own identity.
The price data is loaded only when there are two or more names to tell apart (~0.1 s).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sessionstats.store import Store


def model_identities(names: Iterable[str]) -> dict[str, str]:
    """Each name's identity; names that are one model in the price data share it."""
    distinct = sorted(set(names))
    if len(distinct) < 2:
        return {name: name for name in distinct}
    from sessionstats.pricing.prices import find_model

    identities = {}
    for name in distinct:
        found = find_model(name)
        identities[name] = found.model_id if found is not None else name
    return identities


def same_model_names(store: Store, model: str, *, user: str) -> list[str]:
    """Every name the user's token records give the model `model` names (itself included)."""
    recorded = [row[0] for row in store.fetchall(
        "SELECT DISTINCT model FROM token_usage WHERE user_id = ? AND model IS NOT NULL", [user])]
    identities = model_identities([model, *recorded])
    return sorted({model, *(name for name in recorded if identities[name] == identities[model])})


def model_in(store: Store, model: str, params: dict[str, Any], *, user: str) -> str:
    """An SQL `IN (...)` that matches every name of `model` (its values go into `params`)."""
    names = same_model_names(store, model, user=user)
    keys = [f"model{index}" for index in range(len(names))]
    params.update(zip(keys, names, strict=True))
    return "IN (" + ", ".join(f"${key}" for key in keys) + ")"


def identity_sql(store: Store, column: str, params: dict[str, Any], *, user: str, session: str) -> str:
    """An SQL expression giving `column`'s model identity for the session's records (the column itself when
    no two of its names are one model)."""
    recorded = [row[0] for row in store.fetchall(
        "SELECT DISTINCT model FROM token_usage WHERE user_id = ? AND session_id = ? AND model IS NOT NULL",
        [user, session])]
    renamed = {name: identity for name, identity in model_identities(recorded).items() if name != identity}
    if not renamed:
        return column
    cases = []
    for index, (name, identity) in enumerate(sorted(renamed.items())):
        params[f"named{index}"], params[f"identity{index}"] = name, identity
        cases.append(f"WHEN $named{index} THEN $identity{index}")
    return f"CASE {column} {' '.join(cases)} ELSE {column} END"
