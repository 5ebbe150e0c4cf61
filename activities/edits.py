"""A person's edit carried into the agent's next version of a document.

An agent that rewrites a document (a revision asked for after an edit, a step regenerated
after a rollback) writes from the idea and the upstream documents, not from the person's
text. So after the agent's version is stored, the person's changes are re-applied to it
(``docflow.merge.merge3``) as a version of its own, ``source="merge"``, and that version is
what the gate shows. Its metadata names the versions involved and where both changed
the same lines (``conflicts``: line numbers only, the texts stay in the encrypted
versions), so the gate can offer the agent's lines instead of the person's.

Which version's edits are carried: the one the person was looking at when they asked for
the revision (the gate's), else the document's accepted one. A person who made an older,
unedited version active has chosen to drop their edit, and nothing is carried.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from docflow.merge import merge3
from docflow.storage.models import Document, DocumentVersion
from docflow.storage.repositories import TenantRepository

EDIT_SOURCE = "edit"
MERGE_SOURCE = "merge"


def edit_meta(edited_from: DocumentVersion, edited_by: str) -> dict[str, Any]:
    """The metadata of a person's edit: who, and which version they edited."""
    return {"edited_by": edited_by, "edited_from": edited_from.version}


def agent_text_under(
    versions: dict[int, DocumentVersion], carried: DocumentVersion
) -> DocumentVersion | None:
    """The agent's own version the person's edits in ``carried`` were made on, or None
    when ``carried`` holds no edit. Edits stack (an edit of an edit of a merge): the walk
    goes back to the agent's text under all of them."""
    if carried.source not in (EDIT_SOURCE, MERGE_SOURCE):
        return None
    node: DocumentVersion | None = carried
    while node is not None and node.source == EDIT_SOURCE:
        # Edits saved before "edited_from" was recorded were made on the version before.
        node = versions.get(int(node.meta.get("edited_from", node.version - 1)))
    if node is not None and node.source == MERGE_SOURCE:
        return versions.get(int(node.meta["merge"]["agent_version"]))
    return node


def carried_version(versions: list[DocumentVersion], carry_ids: set[Any]) -> DocumentVersion | None:
    """The version whose edits go into the agent's new one (see the module)."""
    chosen = [v for v in versions if v.id in carry_ids] or [v for v in versions if v.accepted]
    return chosen[-1] if chosen else None


async def reapply_edit(
    repo: TenantRepository,
    document: Document,
    written: DocumentVersion,
    carried: DocumentVersion | None,
    versions: list[DocumentVersion],
) -> DocumentVersion | None:
    """The agent's ``written`` version with the person's edits in ``carried`` re-applied,
    stored as the next version; None when there is no edit to carry or it changes nothing."""
    if carried is None:
        return None
    base = agent_text_under({v.version: v for v in versions}, carried)
    if base is None or base.content_md == carried.content_md:
        return None
    merged = merge3(base.content_md, carried.content_md, written.content_md)
    if merged.text == written.content_md:
        return None
    return await repo.add_version(
        document,
        merged.text,
        source=MERGE_SOURCE,
        created_by=carried.created_by,
        writer=written.writer,
        idempotency_key=f"{written.idempotency_key}:merged",
        meta={
            **written.meta,
            "merge": {
                "agent_version": written.version,
                "edit_version": carried.version,
                "base_version": base.version,
                "conflicts": [asdict(conflict) for conflict in merged.conflicts],
            },
        },
    )
