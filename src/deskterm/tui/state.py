"""What the queue remembers between runs: the view, the filter and the sort, in a small JSON file.

It lives in ``platformdirs.user_state_dir("deskterm")``; a missing or damaged file means defaults
(this is a convenience, never a reason not to start).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


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
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
        state = QueueState(**{k: v for k, v in data.items() if k in QueueState.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return QueueState()
    if not isinstance(state.view, str) or not isinstance(state.filter, str) or not isinstance(state.sort, str):
        return QueueState()
    return state


def save_state(state: QueueState) -> None:
    path = state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
        os.replace(tmp, path)  # never a half-written file
    except OSError:
        pass  # a read-only home must not stop the agent working
