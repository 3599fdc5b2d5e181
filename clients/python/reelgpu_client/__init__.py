"""A client for reelgpu's endpoint that the web app's backend can use in place of its hosted
render functions, with one changed line:

    fn.remote_gen(**kwargs)   ->   Endpoint(ENDPOINT_ID, API_KEY).remote_gen("render_overlay", **kwargs)

``remote_gen`` yields the same progress dicts the app reads today (``progress``, ``phase``,
``message``; the last one has ``status``); ``remote`` returns only the last one. A handle
(``endpoint.function("stitch_members")``) takes the app's positional arguments too, mapped
onto the call's names in the app's order, and its ``remote`` returns the final dict as the
app's functions do (the detection calls' errors included). Standard library only; Python
3.10+.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

__all__ = ["Endpoint", "Function", "CallError", "encode_kwargs", "PARAMETERS", "RAISING"]

# Each call's arguments in the order the app's functions declare them: a positional argument
# of a handle's call gets the name at its place.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "render_overlay": ("job_id", "user_id", "input_key", "output_key", "highlight_regions",
                       "effect_type", "overlay_settings", "text_layers"),
    "process_clips_ai": ("job_id", "user_id", "source_keys", "output_key", "clips_data",
                         "target_width", "target_height", "fps", "include_audio", "transition"),
    "stitch_members": ("user_id", "input_keys", "output_key"),
    "detect_players_modal": ("user_id", "input_key", "frame_number", "confidence_threshold"),
    "detect_players_batch_modal": ("user_id", "input_key", "timestamps", "confidence_threshold"),
    "compose_serve_time_modal": ("user_prefix", "reel_key", "card_plan", "intro_layer_keys",
                                 "outro_enabled", "out_key"),
}

# The calls whose app function raises when it fails (the others return their error dicts):
# a handle's ``remote()`` raises ``CallError`` with the error item's message for these.
RAISING: frozenset[str] = frozenset({"compose_serve_time_modal"})


class CallError(RuntimeError):
    """A call that fails as the app's function raises (``RAISING``); ``item`` is the error
    item."""

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__(str(item.get("error")))
        self.item = item


def bind_arguments(function: str, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``args`` named as ``function`` declares them, merged with ``kwargs`` (a name given
    both ways, or more positional arguments than names, is a TypeError, as in Python)."""
    if not args:
        return dict(kwargs)
    names = PARAMETERS.get(function)
    if names is None:
        raise TypeError(f"{function}() takes keyword arguments only here")
    if len(args) > len(names):
        raise TypeError(f"{function}() takes at most {len(names)} positional arguments ({len(args)} given)")
    bound = dict(zip(names, args))
    for k in kwargs:
        if k in bound:
            raise TypeError(f"{function}() got multiple values for argument '{k}'")
    bound.update(kwargs)
    return bound

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def encode_kwargs(value: Any) -> Any:
    """Python values as the call's JSON: ``bytes`` as standard base64, tuples as lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): encode_kwargs(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_kwargs(v) for v in value]
    return value


def _error(message: str) -> dict[str, Any]:
    return {"status": "error", "error": message, "progress": 0, "phase": "error"}


class _Transient(Exception):
    pass


class Endpoint:
    """A reelgpu endpoint: RunPod's (``https://api.runpod.ai/v2/<endpoint_id>``) or a local
    ``reelgpu serve`` (``Endpoint("", base_url="http://127.0.0.1:8000")``)."""

    def __init__(
        self,
        endpoint_id: str,
        api_key: str | None = None,
        base_url: str = "https://api.runpod.ai/v2",
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        base = base_url.rstrip("/")
        self.url = f"{base}/{endpoint_id}" if endpoint_id else base
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    # -- HTTP ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One request, retried on connection errors, timeouts, 429 and 5xx."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(
                self.url + path, data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as e:
                if e.code == 429 or e.code >= 500:
                    last = e
                    continue
                raise
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = e
                continue
        raise _Transient(str(last))

    # -- calls --------------------------------------------------------------------------

    def remote_gen(self, function: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Runs ``function(**kwargs)`` and yields its progress dicts; the last one has
        ``status``. Closing the generator early cancels the job."""
        try:
            job = self._request(
                "POST", "/run", {"input": {"function": function, "kwargs": encode_kwargs(kwargs)}}
            )
        except (_Transient, urllib.error.HTTPError) as e:
            yield _error(f"could not start {function}: {e}")
            return
        job_id = job.get("id")
        if not job_id:
            yield _error(f"the endpoint did not start {function}: {job}")
            return
        finished = False
        try:
            while True:
                try:
                    answer = self._request("GET", f"/stream/{job_id}")
                except urllib.error.HTTPError as e:
                    finished = True
                    yield _error(f"job {job_id} was lost (HTTP {e.code})")
                    return
                except _Transient as e:
                    finished = True
                    yield _error(f"lost contact with job {job_id}: {e}")
                    return
                for chunk in answer.get("stream") or []:
                    item = chunk.get("output") if isinstance(chunk, dict) else None
                    if not isinstance(item, dict):
                        continue
                    if "status" in item:
                        finished = True
                    yield item
                    if finished:
                        return
                if answer.get("status") in TERMINAL:
                    finished = True
                    yield self._final(job_id)
                    return
        finally:
            if not finished:
                # the caller stopped reading: the job is not wanted any more
                try:
                    self._request("POST", f"/cancel/{job_id}")
                except Exception:  # noqa: BLE001 - best effort
                    pass

    def _final(self, job_id: str) -> dict[str, Any]:
        """The job's result when its stream ended without a final item."""
        try:
            status = self._request("GET", f"/status/{job_id}")
        except Exception as e:  # noqa: BLE001
            return _error(f"job {job_id} ended, and its result could not be read: {e}")
        output = status.get("output")
        if isinstance(output, dict) and "status" in output:
            return output
        return _error(status.get("error") or f"job {job_id} ended {status.get('status')} without a result")

    def remote(self, function: str, **kwargs: Any) -> dict[str, Any]:
        """Runs ``function(**kwargs)`` and returns its final dict."""
        last: dict[str, Any] = _error(f"{function} yielded nothing")
        for item in self.remote_gen(function, **kwargs):
            last = item
        return last


class Function:
    """One of the endpoint's calls as the app holds its functions: ``remote(*args, **kwargs)``
    returns the final dict (errors too, as the app's functions return them, except the calls
    in ``RAISING``, whose app functions raise: then ``CallError``), ``remote_gen`` yields every
    item."""

    def __init__(self, endpoint: Endpoint, name: str) -> None:
        self.endpoint = endpoint
        self.name = name

    def remote_gen(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return self.endpoint.remote_gen(self.name, **bind_arguments(self.name, args, kwargs))

    def remote(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        final = self.endpoint.remote(self.name, **bind_arguments(self.name, args, kwargs))
        if self.name in RAISING and final.get("status") == "error":
            raise CallError(final)
        return final


def _function(self: Endpoint, name: str) -> Function:
    """A handle on call ``name``."""
    return Function(self, name)


Endpoint.function = _function  # type: ignore[attr-defined]
