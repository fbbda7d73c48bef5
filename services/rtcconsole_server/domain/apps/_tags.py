"""R8: the account's tag catalog and the tags attached to apps.

The catalog holds at most :data:`TAG_CATALOG_QUOTA` pairs per account (issue 10
§5), counted under the account's row lock so concurrent creates cannot pass it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.apps._apps import Apps
from rtcconsole_server.domain.apps._views import AppView, TagView
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    load_app,
    page_size,
    pair_position,
)
from rtcconsole_server.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    QuotaExceeded,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, AppTag, TagPair

__all__ = ["KEY_MAX", "TAGS_PER_CALL", "TAG_CATALOG_QUOTA", "VALUE_MAX", "Tags", "check_tag"]

KEY_MAX = 127
"""Characters in a tag key."""
VALUE_MAX = 255
"""Characters in a tag value."""
TAGS_PER_CALL = 50
"""Tags one AddAppTags or RemoveAppTags call may name."""
TAG_CATALOG_QUOTA = 1000
"""(key, value) pairs an account's tag catalog may hold: the 1001st ``CreateTag`` is
``RESOURCE_EXHAUSTED`` with a ``QuotaFailure``; ``DeleteTag`` frees a slot at once."""


def _check_text(value: str, field: str, maximum: int) -> list[FieldViolation]:
    if not 1 <= len(value) <= maximum:
        return [FieldViolation(field, f"must be 1-{maximum} characters")]
    if not value.isprintable() or value != value.strip():
        return [FieldViolation(field, "must be printable, without leading or trailing spaces")]
    return []


def check_tag(tag: TagView, field: str = "tag") -> list[FieldViolation]:
    """Violations of the tag alphabet and lengths by one pair."""
    return _check_text(tag.key, f"{field}.key", KEY_MAX) + _check_text(tag.value, f"{field}.value", VALUE_MAX)


def _check_tags(tags: Sequence[TagView]) -> None:
    violations: list[FieldViolation] = []
    if not tags:
        violations.append(FieldViolation("tags", "must name at least one tag"))
    if len(tags) > TAGS_PER_CALL:
        violations.append(FieldViolation("tags", f"must name at most {TAGS_PER_CALL} tags"))
    for i, tag in enumerate(tags):
        violations += check_tag(tag, f"tags[{i}]")
    if violations:
        raise InvalidArgument(violations)


class Tags:
    """The catalog of the caller's account and tags on its apps."""

    def __init__(self, store: Store, clock: Clock, apps: Apps, *, tokens: PageTokens | None = None) -> None:
        self._tokens = tokens or PageTokens.ephemeral()
        self._store = store
        self._clock = clock
        self._apps = apps

    def create(self, caller: Caller, tag: TagView) -> TagView:
        if violations := check_tag(tag):
            raise InvalidArgument(violations)
        try:
            with self._store.write() as session:
                # The account row lock serialises catalog creates of one account on PostgreSQL;
                # on SQLite BEGIN IMMEDIATE already serialises every writer.
                session.execute(select(Account.id).where(Account.id == caller.account_id).with_for_update())
                if session.get(TagPair, (caller.account_id, tag.key, tag.value)) is not None:
                    raise AlreadyExists("tag", f"{tag.key}={tag.value}", "the tag is already in the catalog")
                held = session.scalar(
                    select(func.count()).select_from(TagPair).where(TagPair.account_id == caller.account_id)
                )
                assert held is not None
                if held >= TAG_CATALOG_QUOTA:
                    raise QuotaExceeded(
                        subject=f"accounts/{caller.account_id}",
                        resource="tags",
                        limit=TAG_CATALOG_QUOTA,
                        current=held,
                    )
                session.add(
                    TagPair(
                        account_id=caller.account_id,
                        key=tag.key,
                        value=tag.value,
                        created_at=self._clock.now(),
                    )
                )
        except IntegrityError as exc:  # a concurrent create of the same pair
            raise AlreadyExists("tag", f"{tag.key}={tag.value}", "the tag is already in the catalog") from exc
        return tag

    def list(self, caller: Caller, *, page_size_requested: int, page_token: str, key: str) -> Page[TagView]:
        size = page_size(page_size_requested, default=100, maximum=1000)
        filters = {"key": key}
        after = self._tokens.decode(page_token, "tags", filters, pair_position)
        conditions: list[ColumnElement[bool]] = [TagPair.account_id == caller.account_id]
        if key:
            conditions.append(TagPair.key == key)
        if after is not None:
            conditions.append(
                or_(TagPair.key > after[0], and_(TagPair.key == after[0], TagPair.value > after[1]))
            )
        with self._store.read() as session:
            rows = session.execute(
                select(TagPair.key, TagPair.value)
                .where(*conditions)
                .order_by(TagPair.key, TagPair.value)
                .limit(size + 1)
            ).all()
        tags = [TagView(k, v) for k, v in rows[:size]]
        token = (
            self._tokens.encode("tags", [tags[-1].key, tags[-1].value], filters) if len(rows) > size else ""
        )
        return Page(tags, token)

    def delete(self, caller: Caller, tag: TagView) -> None:
        """Remove a pair from the catalog; refused while an app carries it."""
        if violations := check_tag(tag):
            raise InvalidArgument(violations)
        with self._store.write() as session:
            row = session.get(TagPair, (caller.account_id, tag.key, tag.value))
            if row is None:
                raise NotFound("tag", f"{tag.key}={tag.value}")
            in_use = session.scalars(
                select(AppTag.sdk_app_id).where(
                    AppTag.account_id == caller.account_id, AppTag.key == tag.key, AppTag.value == tag.value
                )
            ).first()
            if in_use is not None:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "TAG_IN_USE", f"tags/{tag.key}={tag.value}", f"app {in_use} still carries this tag"
                    )
                )
            session.delete(row)

    def attach(self, caller: Caller, sdk_app_id: int, tags: Sequence[TagView]) -> AppView:
        _check_tags(tags)
        wanted = sorted({(t.key, t.value) for t in tags})
        with self._store.write() as session:
            load_app(session, caller, sdk_app_id, for_update=True)
            known: set[tuple[str, str]] = set(
                session.execute(
                    select(TagPair.key, TagPair.value).where(
                        TagPair.account_id == caller.account_id,
                        tuple_(TagPair.key, TagPair.value).in_(wanted),
                    )
                )
            )
            missing = [pair for pair in wanted if pair not in known]
            if missing:
                raise FailedPrecondition(
                    [
                        PreconditionViolation(
                            "TAG_NOT_IN_CATALOG",
                            f"tags/{k}={v}",
                            f"{k}={v} is not in the tag catalog; create it first",
                        )
                        for k, v in missing
                    ]
                )
            present: set[tuple[str, str]] = set(
                session.execute(select(AppTag.key, AppTag.value).where(AppTag.sdk_app_id == sdk_app_id))
            )
            for key, value in wanted:
                if (key, value) not in present:
                    session.add(
                        AppTag(sdk_app_id=sdk_app_id, key=key, value=value, account_id=caller.account_id)
                    )
        return self._apps.get(caller, sdk_app_id)

    def detach(self, caller: Caller, sdk_app_id: int, tags: Sequence[TagView]) -> AppView:
        _check_tags(tags)
        with self._store.write() as session:
            load_app(session, caller, sdk_app_id, for_update=True)
            session.execute(
                delete(AppTag).where(
                    AppTag.sdk_app_id == sdk_app_id,
                    tuple_(AppTag.key, AppTag.value).in_(sorted({(t.key, t.value) for t in tags})),
                )
            )
        return self._apps.get(caller, sdk_app_id)
