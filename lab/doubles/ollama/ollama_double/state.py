"""What the server keeps between requests: configuration, the model store, loaded models."""

import threading
import time

from . import config
from .store import Store
from .streams import ApiError

BUSY = "server busy, please try again.  maximum pending requests exceeded"


class Loaded:
    """A model 'in memory' (for /api/ps), until its keep_alive runs out."""

    def __init__(self, model, expires_ns):
        self.model = model
        self.expires_ns = expires_ns


class State:
    def __init__(self):
        self.store = Store(config.models_dir())
        self.origins = config.allowed_origins()
        self.keep_alive_ns = config.keep_alive_ns()
        self.max_queue = config.max_queue()
        self.num_parallel = config.num_parallel()
        self.context_length = config.context_length()
        self.token_delay = config.token_delay()
        self.load_seconds_per_gb = config.load_seconds_per_gb()
        self.loopback = False
        self._lock = threading.Lock()
        self._loaded = {}
        self._pending = 0
        self._runners = {}

    # --- the scheduler's queue ---------------------------------------------------------------

    def admit(self):
        """Counts a request into the scheduler; 503 once more than the queue can hold wait."""
        with self._lock:
            if self._pending >= self.max_queue + self.num_parallel:
                raise ApiError(503, BUSY)
            self._pending += 1

    def release(self):
        with self._lock:
            self._pending -= 1

    def runner(self, model_key):
        """OLLAMA_NUM_PARALLEL slots per model: more requests for it wait their turn."""
        with self._lock:
            return self._runners.setdefault(model_key, threading.BoundedSemaphore(self.num_parallel))

    # --- loaded models -----------------------------------------------------------------------

    def load(self, model, keep_alive_ns):
        """Marks the model loaded until now + keep_alive; returns True if it was not loaded."""
        now = time.time_ns()
        with self._lock:
            self._expire(now)
            fresh = model.name.key() not in self._loaded
            if keep_alive_ns == 0:
                self._loaded.pop(model.name.key(), None)
            else:
                self._loaded[model.name.key()] = Loaded(model, now + min(keep_alive_ns, 2**63 - 1 - now))
            return fresh

    def load_seconds(self, model):
        """How long loading this model takes: proportional to its size on disk."""
        return model.size / 1e9 * self.load_seconds_per_gb

    def unload(self, model):
        with self._lock:
            self._loaded.pop(model.name.key(), None)

    def loaded(self):
        with self._lock:
            self._expire(time.time_ns())
            return sorted(self._loaded.values(), key=lambda item: item.expires_ns, reverse=True)

    def _expire(self, now):
        for key in [key for key, item in self._loaded.items() if item.expires_ns <= now]:
            del self._loaded[key]
