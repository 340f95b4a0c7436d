"""One grammar for both chats (SPEC 5 and 6): text in, a typed command or a ParseError out.

Pure and linear-time: it splits on whitespace and looks words up; no backtracking regexes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime

from domain import refs
from domain.enums import (
    FaultCause,
    HandoverType,
    HoldReason,
    Priority,
    RiskType,
    Status,
    TicketType,
    parse_hold_reason,
    parse_priority,
)

# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    slack_id: str | None
    name: str | None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class NewFault:
    dr: str | None
    priority: Priority | None
    description: str
    ticket_type: TicketType | None = None


@dataclass(frozen=True)
class NewModal:
    pass


@dataclass(frozen=True)
class ListTickets:
    filter: str  # mine | open | breached | unassigned | zone | dr | all
    value: str | None = None


@dataclass(frozen=True)
class Show:
    ref: str | None


@dataclass(frozen=True)
class SetStatus:
    ref: str | None
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class Ack:
    ref: str | None


@dataclass(frozen=True)
class Start:
    ref: str | None


@dataclass(frozen=True)
class Note:
    ref: str | None
    text: str


@dataclass(frozen=True)
class StepEvidence:
    ref: str | None
    step: int | None
    ok_text: str | None
    has_media: bool


@dataclass(frozen=True)
class Reading:
    ref: str | None
    kind: str  # ont | rx | pole | pon | zone
    value: str


@dataclass(frozen=True)
class SetCause:
    ref: str | None
    cause: FaultCause
    details: str


@dataclass(frozen=True)
class Hold:
    ref: str | None
    reason: HoldReason
    note: str | None = None


@dataclass(frozen=True)
class Resume:
    ref: str | None


@dataclass(frozen=True)
class RiskRequest:
    ref: str | None
    risk_type: RiskType
    until: date
    description: str
    followup: date | None = None


@dataclass(frozen=True)
class RiskDecision:
    risk_id: int
    approve: bool
    reason: str | None = None


@dataclass(frozen=True)
class RiskResolve:
    risk_id: int
    notes: str


@dataclass(frozen=True)
class Done:
    ref: str | None


@dataclass(frozen=True)
class Assign:
    ref: str | None
    assignee: Mention


@dataclass(frozen=True)
class Take:
    ref: str | None


@dataclass(frozen=True)
class SetPriority:
    ref: str | None
    priority: Priority


@dataclass(frozen=True)
class QaStart:
    ref: str | None


@dataclass(frozen=True)
class QaApprove:
    ref: str | None
    note: str | None = None


@dataclass(frozen=True)
class QaReject:
    ref: str | None
    reason: str


@dataclass(frozen=True)
class Handover:
    ref: str | None
    kind: HandoverType


@dataclass(frozen=True)
class Escalate:
    ref: str | None
    reason: str | None


@dataclass(frozen=True)
class Close:
    ref: str | None
    resolution: str | None


@dataclass(frozen=True)
class Reopen:
    ref: str | None
    reason: str | None


@dataclass(frozen=True)
class Cancel:
    ref: str | None
    reason: str | None


Command = (
    Help | NewFault | NewModal | ListTickets | Show | SetStatus | Ack | Start | Note
    | StepEvidence | Reading | SetCause | Hold | Resume | RiskRequest | RiskDecision
    | RiskResolve | Done
    | Assign | Take | SetPriority | QaStart | QaApprove | QaReject | Handover | Escalate | Close
    | Reopen | Cancel
)


class ParseError(Exception):
    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


# --- usage ---------------------------------------------------------------------------------

USAGE: dict[str, str] = {
    "help": "help",
    "new": "fault DR1234567 [priority] <what is wrong>",
    "list": "mine | list open | list unassigned | list breached | list zone Z4 | list dr DR1234567",
    "show": "FF000123  (or: status FF000123)",
    "status": "status FF000123 <new status> [reason]",
    "ack": "ack FF000123",
    "start": "start FF000123",
    "note": "note FF000123 <text>",
    "step": "a photo captioned 'FF000123 step 3', or: step FF000123 9 ok",
    "reading": "ont FF000123 ALCL1234ABCD | rx FF000123 -21.4 | pole FF000123 P-1234 | "
               "pon FF000123 PON-7",
    "cause": "cause FF000123 <workmanship|material_failure|client_damage|third_party|"
             "environmental|vandalism|unknown> <details>",
    "hold": "hold FF000123 <parts|customer|third_party|weather|other> [note]",
    "resume": "resume FF000123",
    "risk": "risk FF000123 <type> until 2026-12-15 <description>",
    "risk_decision": "risk approve 12 | risk reject 12 <reason>",
    "risk_resolve": "risk resolve 12 <how it was dealt with>",
    "done": "done FF000123",
    "assign": "assign FF000123 @person",
    "take": "take FF000123",
    "priority": "priority FF000123 <low|normal|high|urgent|critical>",
    "qa": "qa start FF000123 | qa approve FF000123 | qa reject FF000123 <reason>",
    "handover": "handover FF000123 <qa|maintenance|complete>",
    "escalate": "escalate FF000123 <reason>",
    "close": "close FF000123 <resolution>",
    "reopen": "reopen FF000123 <reason>",
    "cancel": "cancel FF000123 <reason>",
}

_HELP_LINES = [
    ("fault DR1234567 no light on ONT", "log a fault"),
    ("mine", "your open tickets"),
    ("FF000123", "show a ticket"),
    ("start FF000123", "start work"),
    ("photo captioned 'FF000123 step 3'", "evidence for a step"),
    ("ont FF000123 ALCL1234ABCD / rx FF000123 -21.4", "readings"),
    ("cause FF000123 workmanship loose connector", "fault cause"),
    ("hold FF000123 parts / resume FF000123", "pause and carry on"),
    ("risk FF000123 pending_material until 2026-12-15 ...", "ask for a risk acceptance"),
    ("done FF000123", "submit for QA"),
]

_SLACK_EXTRA = [
    ("new DR1234567 high no light", "log a ticket (or 'new' alone for a form)"),
    ("list open|unassigned|breached|zone Z4", "lists"),
    ("assign FF000123 @thabo / take FF000123", "assignment"),
    ("qa start|approve|reject FF000123", "QA"),
    ("handover FF000123 qa|maintenance|complete", "handovers"),
    ("risk approve 12 / risk reject 12 reason", "decide a risk acceptance"),
    ("risk resolve 12 closure fitted", "resolve an approved risk acceptance"),
    ("priority / escalate / close / reopen / cancel FF000123 ...", "supervision"),
]


def help_text(channel: str) -> str:
    if channel == "slack":
        rows = _HELP_LINES[:1] + _SLACK_EXTRA + _HELP_LINES[1:]
        return "\n".join(f"`/ticket {cmd}` {what}" for cmd, what in rows)
    lines = [f"{cmd} - {what}" for cmd, what in _HELP_LINES]
    lines.append("A ref is optional when you just talked about the ticket. Afrikaans works too.")
    return "\n".join(lines)


# --- vocabulary ----------------------------------------------------------------------------

_INTENTS: dict[str, str] = {}
for _intent, _words in {
    "help": ["help", "?", "hulp", "menu"],
    "new": ["fault", "new", "fout", "nuut", "log"],
    "mine": ["mine", "myne", "my"],
    "list": ["list", "lys", "tickets"],
    "show": ["show", "wys"],
    "status": ["status"],
    "ack": ["ack", "acknowledge", "erken"],
    "start": ["start", "begin"],
    "note": ["note", "nota"],
    "step": ["step", "stap"],
    "ont": ["ont", "serial"],
    "rx": ["rx"],
    "pole": ["pole", "paal"],
    "pon": ["pon"],
    "zone": ["zone", "sone"],
    "cause": ["cause", "oorsaak"],
    "hold": ["hold", "wag", "pause"],
    "resume": ["resume", "hervat", "continue"],
    "risk": ["risk", "risiko"],
    "done": ["done", "klaar", "completed", "complete", "finished", "voltooi", "afgehandel",
             "sorted", "ready", "gereed"],
    "assign": ["assign"],
    "take": ["take", "vat"],
    "priority": ["priority", "prioriteit"],
    "qa": ["qa"],
    "handover": ["handover", "oorhandig"],
    "escalate": ["escalate", "eskaleer"],
    "close": ["close", "sluit"],
    "reopen": ["reopen", "heropen"],
    "cancel": ["cancel", "kanselleer"],
}.items():
    for _w in _words:
        _INTENTS[_w] = _intent

_PHRASES = {("my", "tickets"): "mine", ("all", "photos"): "done", ("all", "pictures"): "done",
            ("alle", "fotos"): "done", ("alle", "foto's"): "done"}

_HANDOVER = {"qa": HandoverType.BUILD_TO_QA, "build_to_qa": HandoverType.BUILD_TO_QA,
             "maintenance": HandoverType.QA_TO_MAINTENANCE,
             "qa_to_maintenance": HandoverType.QA_TO_MAINTENANCE,
             "complete": HandoverType.MAINTENANCE_COMPLETE,
             "maintenance_complete": HandoverType.MAINTENANCE_COMPLETE}

_CAUSE_ALIASES = {"material": FaultCause.MATERIAL_FAILURE, "client": FaultCause.CLIENT_DAMAGE,
                  "customer": FaultCause.CLIENT_DAMAGE, "thirdparty": FaultCause.THIRD_PARTY,
                  "weather": FaultCause.ENVIRONMENTAL}

_TYPE_WORDS = {t.value: t for t in TicketType} | {"installation": TicketType.NEW_INSTALLATION,
                                                   "install": TicketType.NEW_INSTALLATION}

_MENTION = re.compile(r"^<@([A-Z0-9]{2,20})(?:\|([^>]{0,80}))?>$")
_MAX_TEXT = 4000


# --- helpers -------------------------------------------------------------------------------


def _ref(word: str) -> str | None:
    """An FF ref, loosely typed, or an external ref such as FT406824."""
    ref = refs.normalise_ref(word)
    if ref:
        return ref
    if refs.is_external_ref(word):
        return word.strip().upper()
    return None


def _take_ref(words: list[str]) -> tuple[str | None, list[str]]:
    """A ref at the start of the words; also `FF 123` split across two words."""
    if not words:
        return None, words
    ref = _ref(words[0])
    if ref:
        return ref, words[1:]
    if len(words) >= 2 and words[0].lower() == "ff" and words[1].isdigit():
        return refs.normalise_ref("FF" + words[1]), words[2:]
    return None, words


def _find_ref(words: list[str]) -> tuple[str | None, list[str]]:
    """A ref anywhere among the words (people put it first or last)."""
    ref, rest = _take_ref(words)
    if ref:
        return ref, rest
    for i, w in enumerate(words):
        ref = _ref(w)
        if ref:
            return ref, words[:i] + words[i + 1:]
    return None, words


def mentioned_ref(text: str) -> str | None:
    """The ticket ref a message names anywhere after its first word, if any (to name the
    ticket in the answer to a command that could not be understood)."""
    ref, _ = _find_ref(text.split()[1:])
    return ref


_NOT_ABOUT_A_TICKET = {"help", "new", "mine", "list"}
_RISK_DECISIONS = {"approve", "reject", "goedkeur", "afkeur", "resolve", "resolved", "opgelos"}


def is_about_a_ticket(text: str) -> bool:
    """Whether the message is a command on one ticket, whose ref may be left to the context
    (a fault report, a list or a risk decision is not)."""
    words = [w.lower().strip(".,!:") for w in text.split()]
    if words and words[0] == "/ticket":
        words = words[1:]
    if not words:
        return False
    intent = _INTENTS.get(words[0])
    if intent is None or intent in _NOT_ABOUT_A_TICKET:
        return False
    return not (intent == "risk" and len(words) > 1 and words[1] in _RISK_DECISIONS)


def _date(word: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(word, fmt).date()
        except ValueError:
            continue
    return None


def _int(word: str) -> int | None:
    return int(word) if word.isdigit() and len(word) < 7 else None


def _rest(words: list[str]) -> str:
    return " ".join(words).strip()


def _suggest(word: str) -> str | None:
    word = word.lower()
    close = difflib.get_close_matches(word, _INTENTS.keys(), n=3, cutoff=0.75)
    # Swapped letters are the commonest thumb slip: prefer a candidate with the same letters.
    same_letters = [c for c in close if sorted(c) == sorted(word)]
    return (same_letters or close or [None])[0]


# --- parsing -------------------------------------------------------------------------------


def parse(text: str, *, has_media: bool = False) -> Command:
    text = (text or "")[:_MAX_TEXT]
    # Slack sends the leading command words too when the text comes from a mention.
    words = text.replace("\u00a0", " ").split()
    if words and words[0].lower() == "/ticket":
        words = words[1:]
    if not words:
        if has_media:
            return StepEvidence(None, None, None, True)
        raise ParseError("Send 'help' to see what I understand.", USAGE["help"])
    if has_media:
        return _photo(words)
    first = words[0].lower().strip(".,!:")
    if len(words) >= 2 and (first, words[1].lower()) in _PHRASES:
        intent = _PHRASES[(first, words[1].lower())]
        return _dispatch(intent, words[2:], text)
    ref, rest = _take_ref(words)
    if ref:
        return _ref_first(ref, rest)
    intent = _INTENTS.get(first)
    if intent is None:
        dr = refs.normalise_dr(words[0]) or (
            refs.normalise_dr(" ".join(words[:2])) if len(words) > 1 else None)
        if dr:
            raise ParseError(f"What about {dr}? To log a fault: fault {dr} <what is wrong>",
                             USAGE["new"])
        hint = _suggest(first)
        if hint:
            raise ParseError(f"I do not know '{words[0]}'. Did you mean '{hint}'?",
                             USAGE.get(_INTENTS[hint], USAGE["help"]))
        raise ParseError("I did not understand that. Send 'help' for the commands.",
                         USAGE["help"])
    return _dispatch(intent, words[1:], text)


def _photo(words: list[str]) -> StepEvidence:
    """A caption: `FF000123 step 3`, `step 3`, `stap 3 FF000123`, or just a ref."""
    ref, rest = _find_ref(words)
    step = None
    for i, w in enumerate(rest):
        low = w.lower()
        if low in ("step", "stap") and i + 1 < len(rest):
            step = _int(rest[i + 1].strip("#.:"))
            break
        if low.startswith(("step", "stap")) and _int(low[4:]) is not None:
            step = _int(low[4:])
            break
    return StepEvidence(ref, step, None, True)


def _ref_first(ref: str, rest: list[str]) -> Command:
    """`FF000123` alone shows it; `FF000123 in_progress` moves it; `FF000123 note x` etc."""
    if not rest:
        return Show(ref)
    status = _status_word(rest[0])
    if status:
        return SetStatus(ref, status, _rest(rest[1:]) or None)
    intent = _INTENTS.get(rest[0].lower())
    if intent and intent not in ("new", "mine", "list", "help"):
        return _dispatch(intent, [ref, *rest[1:]], "")
    raise ParseError(f"What should I do with {ref}? e.g. 'status {ref}' or 'note {ref} text'.",
                     USAGE["show"])


def _status_word(word: str) -> Status | None:
    try:
        return Status(word.lower().replace("-", "_"))
    except ValueError:
        return None


def _dispatch(intent: str, args: list[str], text: str) -> Command:
    handler = _HANDLERS[intent]
    return handler(args)


def _help(args: list[str]) -> Command:
    return Help()


def _new(args: list[str]) -> Command:
    if not args:
        return NewModal()
    joined = " ".join(args)
    dr = refs.find_dr(joined)
    if dr is None:
        raise ParseError("Which DR? e.g. fault DR1234567 no light on ONT", USAGE["new"])
    # drop the DR (it may be written as two words: `DR 1234567`)
    words, skip = [], 0
    for i, w in enumerate(args):
        if skip:
            skip -= 1
            continue
        if refs.normalise_dr(w) == dr:
            continue
        if w.lower() in ("dr", "dr-") and i + 1 < len(args) and args[i + 1].isdigit():
            skip = 1
            continue
        words.append(w)
    priority, ticket_type = None, None
    for _ in range(2):
        if words and priority is None and parse_priority(words[0]):
            priority = parse_priority(words.pop(0))
        if words and ticket_type is None and words[0].lower() in _TYPE_WORDS:
            ticket_type = _TYPE_WORDS[words.pop(0).lower()]
    return NewFault(dr, priority, _rest(words), ticket_type)


def _mine(args: list[str]) -> Command:
    return ListTickets("mine")


def _list(args: list[str]) -> Command:
    if not args:
        return ListTickets("mine")
    kind = args[0].lower()
    if kind in ("mine", "my", "myne"):
        return ListTickets("mine")
    if kind in ("open", "breached", "unassigned", "all"):
        return ListTickets(kind)
    if kind in ("zone", "sone"):
        if len(args) < 2:
            raise ParseError("Which zone? e.g. list zone Z4", USAGE["list"])
        return ListTickets("zone", args[1])
    if kind == "dr":
        dr = refs.normalise_dr(" ".join(args[1:3])) or (
            refs.normalise_dr(args[1]) if len(args) > 1 else None)
        if not dr:
            raise ParseError("Which DR? e.g. list dr DR1234567", USAGE["list"])
        return ListTickets("dr", dr)
    dr = refs.normalise_dr(args[0])
    if dr:
        return ListTickets("dr", dr)
    raise ParseError(f"I cannot list '{args[0]}'.", USAGE["list"])


def _show(args: list[str]) -> Command:
    ref, rest = _take_ref(args)
    if ref is None and args:
        raise ParseError(f"'{args[0]}' is not a ticket ref.", USAGE["show"])
    if ref and rest:
        status = _status_word(rest[0])
        if status is None:
            raise ParseError(f"'{rest[0]}' is not a status.", USAGE["status"])
        return SetStatus(ref, status, _rest(rest[1:]) or None)
    return Show(ref)


def _status(args: list[str]) -> Command:
    ref, rest = _take_ref(args)
    if not rest:
        return Show(ref)
    status = _status_word(rest[0])
    if status is None:
        allowed = ", ".join(s.value for s in Status)
        raise ParseError(f"'{rest[0]}' is not a status ({allowed}).", USAGE["status"])
    return SetStatus(ref, status, _rest(rest[1:]) or None)


def _simple(cls: type, usage: str):  # type: ignore[no-untyped-def]
    def parse_it(args: list[str]) -> Command:
        ref, rest = _find_ref(args)
        if rest and ref is None and rest[0].lower() not in ("please", "asb"):
            raise ParseError(f"'{rest[0]}' is not a ticket ref.", USAGE[usage])
        return cls(ref)

    return parse_it


def _note(args: list[str]) -> Command:
    ref, rest = _take_ref(args)
    if not rest:
        raise ParseError("What should the note say?", USAGE["note"])
    return Note(ref, _rest(rest))


def _step(args: list[str]) -> Command:
    ref, rest = _find_ref(args)
    if not rest or _int(rest[0].strip("#")) is None:
        raise ParseError("Which step? e.g. step FF000123 9 ok", USAGE["step"])
    return StepEvidence(ref, _int(rest[0].strip("#")), _rest(rest[1:]) or "ok", False)


def _reading(kind: str):  # type: ignore[no-untyped-def]
    def parse_it(args: list[str]) -> Command:
        ref, rest = _take_ref(args)
        if not rest:
            example = next(u for u in USAGE["reading"].split(" | ") if u.startswith(kind))
            raise ParseError(f"Send the value too: {example}", USAGE["reading"])
        value = _rest(rest)
        if kind == "rx":
            raw = rest[0].lower().removesuffix("dbm").replace(",", ".")
            try:
                value = str(float(raw))
            except ValueError:
                raise ParseError(f"'{rest[0]}' is not an Rx level; send e.g. rx FF000123 -21.4",
                                 USAGE["reading"]) from None
        elif kind == "ont":
            value = rest[0].upper()
        return Reading(ref, kind, value)

    return parse_it


def _cause(args: list[str]) -> Command:
    ref, rest = _take_ref(args)
    if not rest:
        raise ParseError("Which cause?", USAGE["cause"])
    word = rest[0].lower().replace("-", "_")
    cause = _CAUSE_ALIASES.get(word)
    if cause is None:
        try:
            cause = FaultCause(word)
        except ValueError:
            raise ParseError(f"'{rest[0]}' is not a fault cause.", USAGE["cause"]) from None
    details = _rest(rest[1:])
    if not details:
        raise ParseError(f"Say what happened too: cause {ref or 'FF000123'} {cause.value} "
                         "<details>", USAGE["cause"])
    return SetCause(ref, cause, details)


def _hold(args: list[str]) -> Command:
    ref, rest = _take_ref(args)
    if not rest:
        raise ParseError("Why is it on hold?", USAGE["hold"])
    reason = parse_hold_reason(rest[0])
    if reason is None:
        raise ParseError(f"'{rest[0]}' is not a hold reason.", USAGE["hold"])
    return Hold(ref, reason, _rest(rest[1:]) or None)


def _risk(args: list[str]) -> Command:
    if args and args[0].lower() in ("resolve", "resolved", "opgelos"):
        risk_id = _int(args[1].lstrip("#")) if len(args) > 1 else None
        if risk_id is None:
            raise ParseError("Which risk acceptance? e.g. risk resolve 12 closure fitted",
                             USAGE["risk_resolve"])
        notes = _rest(args[2:])
        if not notes:
            raise ParseError("Say how it was dealt with.", USAGE["risk_resolve"])
        return RiskResolve(risk_id, notes)
    if args and args[0].lower() in ("approve", "reject", "goedkeur", "afkeur"):
        approve = args[0].lower() in ("approve", "goedkeur")
        risk_id = _int(args[1].lstrip("#")) if len(args) > 1 else None
        if risk_id is None:
            raise ParseError("Which risk acceptance? e.g. risk approve 12",
                             USAGE["risk_decision"])
        reason = _rest(args[2:]) or None
        if not approve and not reason:
            raise ParseError("Say why it is rejected.", USAGE["risk_decision"])
        return RiskDecision(risk_id, approve, reason)
    ref, rest = _take_ref(args)
    if not rest:
        raise ParseError("Which kind of risk?", USAGE["risk"])
    try:
        risk_type = RiskType(rest[0].lower().replace("-", "_"))
    except ValueError:
        kinds = ", ".join(r.value for r in RiskType)
        raise ParseError(f"'{rest[0]}' is not a risk type ({kinds}).", USAGE["risk"]) from None
    rest = rest[1:]
    until, followup = None, None
    words: list[str] = []
    i = 0
    while i < len(rest):
        low = rest[i].lower()
        if low in ("until", "tot") and i + 1 < len(rest) and until is None:
            until = _date(rest[i + 1])
            if until is None:
                raise ParseError(f"'{rest[i + 1]}' is not a date (use 2026-12-15).",
                                 USAGE["risk"])
            i += 2
            continue
        if low in ("followup", "follow-up", "opvolg") and i + 1 < len(rest):
            followup = _date(rest[i + 1])
            i += 2
            continue
        words.append(rest[i])
        i += 1
    if until is None:
        raise ParseError("Until when? e.g. ... until 2026-12-15 ...", USAGE["risk"])
    description = _rest(words)
    if not description:
        raise ParseError("Describe the risk.", USAGE["risk"])
    return RiskRequest(ref, risk_type, until, description, followup)


def _assign(args: list[str]) -> Command:
    ref, rest = _find_ref(args)
    if not rest:
        raise ParseError("Assign to whom?", USAGE["assign"])
    mention = _mention(_rest(rest))
    if mention is None:
        raise ParseError(f"'{_rest(rest)}' is not a person.", USAGE["assign"])
    return Assign(ref, mention)


def _mention(text: str) -> Mention | None:
    text = text.strip()
    m = _MENTION.match(text)
    if m:
        return Mention(m.group(1), m.group(2))
    name = text.lstrip("@").strip()
    return Mention(None, name) if name else None


def _priority(args: list[str]) -> Command:
    ref, rest = _find_ref(args)
    priority = parse_priority(rest[0]) if rest else None
    if priority is None:
        raise ParseError("Which priority?", USAGE["priority"])
    return SetPriority(ref, priority)


def _qa(args: list[str]) -> Command:
    if not args:
        raise ParseError("QA what?", USAGE["qa"])
    action = args[0].lower()
    ref, rest = _take_ref(args[1:])
    if action in ("start", "begin"):
        return QaStart(ref)
    if action in ("approve", "pass", "goedkeur"):
        return QaApprove(ref, _rest(rest) or None)
    if action in ("reject", "fail", "afkeur"):
        if not rest:
            raise ParseError("Say why it is rejected.", USAGE["qa"])
        return QaReject(ref, _rest(rest))
    raise ParseError(f"'{args[0]}' is not a QA action.", USAGE["qa"])


def _handover(args: list[str]) -> Command:
    ref, rest = _find_ref(args)
    kind = _HANDOVER.get(rest[0].lower()) if rest else None
    if kind is None:
        raise ParseError("Which handover?", USAGE["handover"])
    return Handover(ref, kind)


def _with_reason(cls: type, usage: str):  # type: ignore[no-untyped-def]
    def parse_it(args: list[str]) -> Command:
        ref, rest = _take_ref(args)
        return cls(ref, _rest(rest) or None)

    return parse_it


def _done(args: list[str]) -> Command:
    ref, _ = _find_ref(args)
    return Done(ref)


def _reading_or_zone_list(args: list[str]) -> Command:
    return _reading("zone")(args)


_HANDLERS = {
    "help": _help,
    "new": _new,
    "mine": _mine,
    "list": _list,
    "show": _show,
    "status": _status,
    "ack": _simple(Ack, "ack"),
    "start": _simple(Start, "start"),
    "note": _note,
    "step": _step,
    "ont": _reading("ont"),
    "rx": _reading("rx"),
    "pole": _reading("pole"),
    "pon": _reading("pon"),
    "zone": _reading_or_zone_list,
    "cause": _cause,
    "hold": _hold,
    "resume": _simple(Resume, "resume"),
    "risk": _risk,
    "done": _done,
    "assign": _assign,
    "take": _simple(Take, "take"),
    "priority": _priority,
    "qa": _qa,
    "handover": _handover,
    "escalate": _with_reason(Escalate, "escalate"),
    "close": _with_reason(Close, "close"),
    "reopen": _with_reason(Reopen, "reopen"),
    "cancel": _with_reason(Cancel, "cancel"),
}


def is_group_actionable(text: str, has_media: bool) -> bool:
    """In a project group: keyword messages, and photos whose caption names a ticket or step."""
    words = (text or "")[:_MAX_TEXT].split()
    if has_media:
        if not words:
            return False
        caption = _photo(words)
        return caption.ref is not None or caption.step is not None
    if not words:
        return False
    first = words[0].lower().strip(".,!:")
    if first in _INTENTS and first not in ("my", "ready", "complete", "begin", "continue"):
        return True
    if len(words) >= 2 and (first, words[1].lower()) in _PHRASES:
        return True
    return _take_ref(words)[0] is not None and refs.normalise_ref(words[0]) is not None
