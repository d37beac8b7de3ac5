"""What the queue remembers between runs: the view, the filter and the sort, in a small JSON file.

It lives in ``platformdirs.user_state_dir("deskterm")``; a missing file means defaults. A damaged one (not
JSON, not an object, a field of the wrong type) is never a reason not to start: what can be read is kept, the
rest takes its default, the file is rewritten at once and ``read_state`` says what was wrong (the queue shows it
once). A view or a sort this version does not know (a file written by another version) quietly takes the
default.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

MAX_BYTES = 64 * 1024  # the file holds a few short fields: anything bigger is not ours
MAX_FILTER = 1000  # characters


@dataclass
class QueueState:
    view: str = "open"
    filter: str = ""
    sort: str = "due"
    descending: bool = False


def state_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("deskterm")) / "queue.json"


def load_state() -> QueueState:
    return read_state()[0]


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def read_state() -> tuple[QueueState, str | None]:
    """The saved state, and what was wrong with the file when it was damaged (it is then rewritten)."""
    from ..store.queue_terms import SORTS, VIEWS

    path = state_path()
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return QueueState(), None
    except OSError as exc:
        return QueueState(), f"{path}: cannot be read ({exc.strerror or exc}): the queue starts with its defaults"
    problems: list[str] = []
    data: object = None
    if len(raw) > MAX_BYTES:
        problems.append(f"larger than {MAX_BYTES // 1024} KB")
    else:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problems.append("not JSON")
    state = QueueState()
    if not problems and not isinstance(data, dict):
        problems.append(f"holds {_kind(data)}, not an object")
    if isinstance(data, dict):
        checks = {
            "view": lambda v: isinstance(v, str),
            "filter": lambda v: isinstance(v, str) and len(v) <= MAX_FILTER and v.isprintable(),
            "sort": lambda v: isinstance(v, str),
            "descending": lambda v: isinstance(v, bool),
        }
        for field, ok in checks.items():
            if field not in data:
                continue
            value = data[field]
            if ok(value):
                setattr(state, field, value)
            else:
                problems.append(f"{field!r} is {_kind(value) if not isinstance(value, str) else 'not a usable text'}")
    if state.view not in VIEWS:
        state.view = QueueState.view
    if state.sort not in SORTS:
        state.sort = QueueState.sort
    if not problems:
        return state, None
    rewritten = save_state(state)
    what = "; ".join(problems)
    done = "ignored and rewritten" if rewritten else "ignored (it could not be rewritten)"
    return state, f"{path} was damaged ({what}): {done}; the queue starts with the defaults for it"


def save_state(state: QueueState) -> bool:
    """Write the state (whole: a temporary file renamed into place); False when it could not be written."""
    path = state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
        os.replace(tmp, path)  # never a half-written file
    except OSError:
        return False  # a read-only home must not stop the agent working
    return True
