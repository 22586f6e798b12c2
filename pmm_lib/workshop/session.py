"""Workshop sessions: the room's context, the registered groups and which device holds each group.

This module owns ``<session dir>/session.json`` (written by the facilitator with
``pmm workshop register``) and ``<session dir>/claims.json`` (written by the server):

* a session fixes the **region** and **cycle** the room works on (there is no default
  region: a workshop is regional), the **audience** of what it shows (``public`` sessions
  show Members by keyed pseudonyms), and the **groups** with their join codes; each
  group's link is ``<server>/?join=<CODE>``;
* a **claim** records which device (the browser's session cookie) currently holds a group.
  A second device that opens a group already held elsewhere is told so and must confirm a
  take-over; a device that no longer holds its group cannot submit
  (:func:`pmm_lib.workshop.exercise.submit` with ``device=``), so two laptops never become
  silent revisions of one group.

File format (``session.json``)::

    {"schema": "pmm-workshop-session/1", "session": "ams-2026", "region": "AMS", "cycle": 2024,
     "audience": "wco", "created_at": "...", "facilitator_key": "...",
     "groups": [{"name": "Caribbean 1", "code": "K7QF2M"}, ...]}

The **facilitator key** (random, made at registration) guards the live dashboard, which shows
every group's weights: its link is ``<server>/dashboard?key=<KEY>``
(:meth:`SessionConfig.dashboard_link`); a request without the key, or with another, is refused
(:meth:`SessionConfig.facilitator_allowed`). A session file written before keys existed has
none: its dashboard is refused until the session is registered again (``--replace``).

A ``public`` session names Members by the keyed pseudonyms of
:func:`pmm_lib.reporting.disclosure.member_labels` (the secret key stays outside the
repository, :func:`pmm_lib.reporting.disclosure.pseudonym_key`).

Examples
--------
>>> import tempfile
>>> root = tempfile.mkdtemp()
>>> s = register_session("demo", ["Caribbean 1", "Andes"], region="AMS", cycle=2024, root=root, seed=1)
>>> s.group_by_code(s.groups[1].code).name
'Andes'
>>> claim_group("demo", "Andes", "laptop-1", root=root).status
'claimed'
>>> claim_group("demo", "Andes", "laptop-2", root=root).status
'held_elsewhere'
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pmm_lib.errors import InputError, SpecError
from pmm_lib.io import write_text_atomic
from pmm_lib.paths import QUESTIONNAIRE_DIR
from pmm_lib.seed import SeedLike, rng
from pmm_lib.workshop.exercise import _locked, session_dir, slug

__all__ = [
    "SESSION_SCHEMA",
    "Claim",
    "GroupSlot",
    "SessionConfig",
    "claim_group",
    "group_holder",
    "load_session",
    "register_session",
    "simulated_data",
]

SESSION_SCHEMA = "pmm-workshop-session/1"
#: join-code alphabet: no 0/O, 1/I/L, so codes can be read aloud and typed
_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")
_CODE_LEN = 6


@dataclass(frozen=True)
class GroupSlot:
    """A registered group: its display name and join code."""

    name: str
    code: str

    @property
    def slug(self) -> str:
        """File-safe name (:func:`pmm_lib.workshop.exercise.slug`)."""
        return slug(self.name)


@dataclass(frozen=True)
class SessionConfig:
    """A registered workshop session (see the module docstring)."""

    session: str
    region: str
    cycle: int
    audience: str
    groups: tuple[GroupSlot, ...]
    created_at: str = ""
    facilitator_key: str = field(default="", repr=False)

    def group_by_code(self, code: str) -> GroupSlot | None:
        """The group with this join code (case and spaces ignored), or None."""
        c = (code or "").strip().upper().replace(" ", "")
        return next((g for g in self.groups if g.code == c), None)

    def group_by_name(self, name: str) -> GroupSlot | None:
        """The group with this name (compared by slug), or None."""
        try:
            s = slug(name)
        except InputError:
            return None
        return next((g for g in self.groups if g.slug == s), None)

    def links(self, base_url: str) -> dict[str, str]:
        """Group name → its join link on a server at ``base_url``."""
        base = base_url.rstrip("/")
        return {g.name: f"{base}/?join={g.code}" for g in self.groups}

    def dashboard_link(self, base_url: str) -> str:
        """The facilitator's dashboard link on a server at ``base_url`` (it carries the key)."""
        return f"{base_url.rstrip('/')}/dashboard?key={self.facilitator_key}"

    def facilitator_allowed(self, key: str | None) -> bool:
        """Whether ``key`` opens the dashboard: it equals the session's key (compared in constant
        time); never when the session has no key."""
        return bool(self.facilitator_key) and hmac.compare_digest(str(key or "").encode(),
                                                                  self.facilitator_key.encode())

    @property
    def pseudonyms(self) -> bool:
        """Whether Members are shown by pseudonyms (a public audience)."""
        return self.audience == "public"


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _join_codes(n: int, seed: SeedLike) -> list[str]:
    codes: list[str] = []
    g = rng(seed) if seed is not None else None
    while len(codes) < n:
        if g is None:
            c = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LEN))
        else:
            c = "".join(_CODE_ALPHABET[int(i)] for i in g.integers(0, len(_CODE_ALPHABET), _CODE_LEN))
        if c not in codes:
            codes.append(c)
    return codes


def register_session(session: str, groups: Sequence[str], *, region: str, cycle: int,
                     audience: str = "wco", root: str | Path | None = None, seed: SeedLike = None,
                     replace: bool = False) -> SessionConfig:
    """Register a session's groups, region, cycle and audience; write ``session.json``.

    Parameters
    ----------
    session : str
        Session name (:func:`pmm_lib.workshop.exercise.slug` rules).
    groups : sequence of str
        Group names, distinct after slugging (so their submission files cannot collide).
    region : str
        ``ALL`` or a WCO region code (:data:`pmm_lib.inputs.data.REGIONS`).
    cycle : int
        The PMM cycle (year) the room works on.
    audience : {"public", "wco", "internal"}
        Who may see what the app shows; ``public`` shows Members by keyed pseudonyms.
    seed : int or Generator, optional
        Makes the join codes reproducible (tests); default: cryptographically random.
    replace : bool
        Overwrite an existing registration (groups' submissions are kept).

    Raises
    ------
    InputError
        A bad or duplicated name, an unknown region, or an existing session without ``replace``.
    """
    from pmm_lib.vocab import AUDIENCES, REGIONS

    slug(session, what="session")
    if region not in ("ALL", *REGIONS):
        raise InputError(f"parameter 'region': unknown region {region!r}", expected="ALL, " + ", ".join(REGIONS))
    if audience not in AUDIENCES:
        raise InputError(f"parameter 'audience': {audience!r} is not accepted", expected=", ".join(AUDIENCES))
    if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1990 <= cycle <= 2100:
        raise InputError(f"parameter 'cycle': {cycle!r} is not a year", expected="a year such as 2024")
    names = [str(g).strip() for g in groups]
    if not names:
        raise InputError("parameter 'groups': no group names given", expected="at least one group name")
    seen: dict[str, str] = {}
    for name in names:
        s = slug(name)
        if s in seen:
            raise InputError(f"parameter 'groups': {name!r} and {seen[s]!r} would share one submission file",
                             expected="group names differing in more than case or punctuation")
        seen[s] = name
    folder = session_dir(session, root)
    path = folder / "session.json"
    if path.exists() and not replace:
        raise InputError(f"session {session!r} is already registered", file=path,
                         expected="another session name, or --replace")
    codes = _join_codes(len(names), seed)
    cfg = SessionConfig(session=session, region=region, cycle=int(cycle), audience=audience,
                        groups=tuple(GroupSlot(n, c) for n, c in zip(names, codes, strict=True)),
                        created_at=_utcnow(), facilitator_key=secrets.token_urlsafe(18))
    doc: dict[str, Any] = {"schema": SESSION_SCHEMA, "session": session, "region": region, "cycle": int(cycle),
                           "audience": audience, "created_at": cfg.created_at,
                           "facilitator_key": cfg.facilitator_key,
                           "groups": [{"name": g.name, "code": g.code} for g in cfg.groups]}
    with _locked(folder):
        write_text_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return cfg


def load_session(session: str, root: str | Path | None = None) -> SessionConfig:
    """Read a registered session (``session.json``).

    Raises
    ------
    InputError
        Not registered (the message says how to register it) or malformed, naming the file.
    """
    path = session_dir(session, root) / "session.json"
    if not path.exists():
        raise InputError(f"session {session!r} is not registered", file=path,
                         expected=f"`pmm workshop register --session {session} --region R --cycle Y "
                                  "--groups NAME ...` first")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=path, row=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("schema") != SESSION_SCHEMA:
        raise InputError("not a workshop session file", file=path, expected=f'"schema": "{SESSION_SCHEMA}"')
    try:
        groups = tuple(GroupSlot(str(g["name"]), str(g["code"])) for g in doc["groups"])
        return SessionConfig(session=str(doc["session"]), region=str(doc["region"]), cycle=int(doc["cycle"]),
                             audience=str(doc.get("audience", "wco")), groups=groups,
                             created_at=str(doc.get("created_at", "")),
                             facilitator_key=str(doc.get("facilitator_key", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed session file: {exc!s}", file=path,
                         expected="session, region, cycle and groups [{name, code}]") from None


# --------------------------------------------------------------------------- claims

ClaimStatus = Literal["claimed", "same_device", "held_elsewhere", "taken_over"]


@dataclass(frozen=True)
class Claim:
    """Outcome of :func:`claim_group`.

    ``status``: ``claimed`` (nobody held the group), ``same_device`` (this device already
    held it, e.g. after a reload), ``held_elsewhere`` (another device holds it; nothing
    changed) or ``taken_over`` (this device now holds it; the other one can no longer submit).
    ``since`` is when the current holder claimed it.
    """

    group: str
    status: ClaimStatus
    holder: str
    since: str


def _claims_path(session: str, root: str | Path | None) -> Path:
    return session_dir(session, root) / "claims.json"


def _read_claims(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=path, row=exc.lineno) from None
    return {str(k): dict(v) for k, v in doc.get("claims", {}).items()}


def claim_group(session: str, group: str, device: str, *, takeover: bool = False,
                root: str | Path | None = None) -> Claim:
    """Claim a group for a device (see :class:`Claim` for the outcomes).

    Parameters
    ----------
    session, group : str
    device : str
        A stable id of the browser (the server's session cookie), non-empty.
    takeover : bool
        Take the group from another device (after the participant confirmed).
    """
    if not device:
        raise SpecError("claim_group needs a non-empty device id")
    gslug = slug(group)
    folder = session_dir(session, root)
    path = _claims_path(session, root)
    with _locked(folder):
        claims = _read_claims(path)
        cur = claims.get(gslug)
        now = _utcnow()
        if cur is not None and cur.get("device") == device:
            return Claim(group, "same_device", device, cur.get("since", ""))
        if cur is not None and not takeover:
            return Claim(group, "held_elsewhere", cur.get("device", ""), cur.get("since", ""))
        entry = {"device": device, "since": now, "group": group.strip()}
        if cur is not None:
            entry["previous"] = cur.get("device", "")
        claims[gslug] = entry
        write_text_atomic(path, json.dumps({"claims": claims}, indent=1, ensure_ascii=False) + "\n")
    return Claim(group, "taken_over" if cur is not None else "claimed", device, now)


def group_holder(session: str, group: str, root: str | Path | None = None) -> str | None:
    """The device currently holding ``group`` (None when unclaimed)."""
    cur = _read_claims(_claims_path(session, root)).get(slug(group))
    return None if cur is None else cur.get("device")


def simulated_data(questionnaire_dir: str | Path | None = None) -> bool:
    """Whether the data in use are simulated: ``truth.json`` (the synthetic generator's planted
    truth, :mod:`pmm_lib.inputs.synthetic`) sits beside the questionnaires."""
    folder = Path(questionnaire_dir) if questionnaire_dir is not None else QUESTIONNAIRE_DIR
    return (folder / "truth.json").exists()
