"""The simulator's state: a notebook instance with its lease, and issued temporary secrets."""

from __future__ import annotations

import secrets
import time
import weakref
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .._errors import UsageError

FLAVOR = "modelarts.vm.cpu.2u"
STATUSES = frozenset(
    (
        "INIT",
        "CREATING",
        "STARTING",
        "STOPPING",
        "DELETING",
        "RUNNING",
        "STOPPED",
        "FROZEN",
        "SNAPSHOTTING",
        "CREATE_FAILED",
        "START_FAILED",
        "DELETE_FAILED",
        "ERROR",
        "DELETED",
    )
)


@dataclass
class Notebook:
    id: str
    name: str
    status: str
    create_at: int
    duration: int
    enable: bool
    type: str
    update_at: int
    url: str = ""

    def lease(self) -> Dict[str, Any]:
        return {
            "create_at": self.create_at,
            "duration": self.duration,
            "enable": self.enable,
            "type": self.type,
            "update_at": self.update_at,
        }

    def show(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "flavor": FLAVOR,
            "url": self.url,
            "lease": self.lease(),
        }


@dataclass
class Issued:
    """A temporary credential (metadata service) or an IAM token, valid until ``expires_at``."""

    expires_at: float
    secret: str = ""
    token: str = ""
    project_id: Optional[str] = None


def iso(epoch: float) -> str:
    """ISO 8601 with microseconds and ``Z``, the format IAM and the metadata service use."""
    micros = int(round((epoch - int(epoch)) * 1e6)) % 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(epoch))) + f".{micros:06d}Z"


def random_text(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


_INSTANCES: weakref.WeakSet = weakref.WeakSet()


def issued_secrets() -> List[str]:
    """Every key, secret and token of every simulator alive in this process (for leak scans)."""
    return sorted({secret for sim in list(_INSTANCES) for secret in sim._secrets() if secret})


def checked_type(value: str) -> str:
    """TIMING or IDLE, in the case given (tests may want the docs' lower-case variant)."""
    if not isinstance(value, str) or value.upper() not in ("TIMING", "IDLE"):
        raise UsageError(f"lease type must be TIMING or IDLE, not {value!r}")
    return value


def checked_status(value: str) -> str:
    if value not in STATUSES:
        raise UsageError(f"unknown notebook status {value!r}")
    return value
