"""Revealing a masked phone number or credit code on the device (DESIGN.md §4).

    held in clear (assigned to me: the store sends my own prospects so)
        -> the value at hand; the reveal is queued as an audit mutation (outbox)
    held masked (any other prospect in reach)
        -> an online call: the store judges it, audits it and answers the clear value,
           which the caller keeps in memory only (never in the device store)
    offline, or the store unreachable
        -> ``LocalError("card.reveal_offline")``: the value cannot be had

The policy is asked first either way, with the facts the store will judge by.
"""

from __future__ import annotations

from sqlalchemy import text

from app.models.ids import new_id
from app.models.sync import RevealField
from app.services.masking import is_masked
from app.services.policy import Action, ProspectFacts, decide
from app.services.scope import Scope
from app.sync import local
from app.sync.client import SyncClient
from app.sync.errors import ServerUnavailable, SyncError, TransportError
from app.sync.local import LocalError
from app.sync.store import DeviceStore


def reveal(
    store: DeviceStore, client: SyncClient, actor: Scope, *, prospect_id: str, field: str
) -> str:
    """The clear value of ``field`` (``phone`` or ``credit_code``) of a prospect, audited;
    ``LocalError`` with the reason when it cannot be revealed."""
    if field not in {f.value for f in RevealField}:
        raise LocalError("mutation.invalid")
    with store.read() as conn:
        row = conn.execute(
            text(
                "SELECT outlet_id, assignee_id, status, phone, credit_code FROM prospect"
                " WHERE id = :id"
            ),
            {"id": prospect_id},
        ).first()
    if row is None:
        raise LocalError("prospect.not_found")
    held = str((row[3] if field == RevealField.PHONE else row[4]) or "")
    if row[1] == actor.user_id and held and not is_masked(held):
        local.record_reveal(store, actor, prospect_id=prospect_id, field=field)
        return held
    decision = decide(actor, Action.REVEAL, ProspectFacts(row[0], row[1], str(row[2])))
    if not decision:
        raise LocalError(decision.code)
    try:
        return client.reveal(prospect_id, field, event_id=new_id(), device_id=store.device_id)
    except (TransportError, ServerUnavailable) as exc:
        raise LocalError("card.reveal_offline") from exc
    except SyncError as exc:
        raise LocalError(exc.code) from exc
