"""What every route module shares: the backend (built on first use) and :meth:`Serving.run`,
a task call with its errors mapped to the API's (and its time counted for ``X-Task-Ms``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from api.backend import Backend, InProcess
from api.checks import too_long
from api.errors import ApiError, Unavailable
from api.guard import TASK_MS
from core.explain import ExplainError
from core.loaders import ModelLoadError
from core.qa.select import PassageTooLong


class Serving:
    """The backend of one app (``backend``: an instance, a callable that builds one at
    startup, as Ray Serve does inside the replica, or ``None`` for :class:`InProcess`)."""

    def __init__(self, backend: Backend | Callable[[], Backend] | None) -> None:
        self._given = backend
        self._backend: Backend | None = None

    def backend(self) -> Backend:
        if self._backend is None:
            given = self._given
            b = given() if isinstance(given, type) or (callable(given) and not hasattr(given, "run")) else given
            self._backend = b if b is not None else InProcess()  # type: ignore[assignment]
        return self._backend  # type: ignore[return-value]

    async def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await self.backend().run(name, args, kwargs)
        except (ModelLoadError, ApiError, Unavailable):
            raise
        except PassageTooLong as exc:  # e.g. a thin client's task call
            raise too_long(exc) from None
        except ExplainError as exc:  # an explanation refused (too slow, nothing to explain): its code kept
            raise ApiError(422, "explain-refused", str(exc), reason=exc.code) from None
        except (ValueError, TypeError) as exc:
            raise ApiError(422, "invalid-input", str(exc) or type(exc).__name__) from None
        finally:
            spent = TASK_MS.get(None)
            if spent is not None:
                spent[0] += (time.perf_counter() - t0) * 1000


def rounded(a: np.ndarray, digits: int = 5) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()
