"""Keccak-256 (Ethereum's pre-SHA3 padding) with a low-overhead call path.

``Crypto.Hash.keccak.new(...).digest()`` costs ~5 us per call, almost all of it Python and ctypes
wrapper work around a sub-microsecond C permutation. Signing needs three hashes per action, so
here pycryptodome's own C functions (``keccak_reset/absorb/digest``) are called through cffi
function pointers (cffi ships inside coincurve), on a per-thread preallocated state: ~0.9 us.
If that setup fails (a dependency changed its internals), the public pycryptodome API is used.

cffi releases the GIL during calls, hence one state per thread.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from collections.abc import Callable
from typing import Any

from coincurve._libsecp256k1 import ffi  # type: ignore[import-not-found]  # compiled cffi module
from Crypto.Hash import keccak as _pycryptodome_keccak

_DIGEST_BYTES = 32
_CAPACITY_BYTES = 2 * _DIGEST_BYTES
_ROUNDS = 24
_KECCAK_PADDING = 0x01  # SHA3-256 would be 0x06


def _keccak256_portable(data: bytes) -> bytes:
    return _pycryptodome_keccak.new(data=data, digest_bits=256).digest()


def _build_fast_keccak256() -> Callable[[bytes], bytes]:
    """Bind pycryptodome's raw keccak C functions as cffi function pointers."""
    spec = importlib.util.find_spec("Crypto.Hash._keccak")
    if spec is None or spec.origin is None:
        raise ImportError("pycryptodome's _keccak shared library not found")
    shared_lib = ctypes.CDLL(spec.origin)

    def function_pointer(name: str, c_type: str) -> Any:
        address = ctypes.cast(getattr(shared_lib, name), ctypes.c_void_p).value
        return ffi.cast(c_type, address)

    keccak_init = function_pointer("keccak_init", "int(*)(void **, size_t, uint8_t)")
    keccak_destroy = function_pointer("keccak_destroy", "int(*)(void *)")
    keccak_reset = function_pointer("keccak_reset", "int(*)(void *)")
    keccak_absorb = function_pointer("keccak_absorb", "int(*)(void *, const uint8_t *, size_t)")
    keccak_digest = function_pointer("keccak_digest", "int(*)(void *, uint8_t *, size_t, uint8_t)")

    class _ThreadState(threading.local):
        def __init__(self) -> None:
            state_holder = ffi.new("void **")
            if keccak_init(state_holder, _CAPACITY_BYTES, _ROUNDS) != 0:
                raise MemoryError("keccak_init failed")
            # ffi.gc frees the C state when the thread (and this object) goes away.
            self.state = ffi.gc(state_holder[0], keccak_destroy)
            self.out = ffi.new("uint8_t[32]")
            self.out_view = ffi.buffer(self.out)

    thread_state = _ThreadState()

    def keccak256_fast(data: bytes) -> bytes:
        local = thread_state
        state = local.state
        keccak_reset(state)
        keccak_absorb(state, data, len(data))
        keccak_digest(state, local.out, _DIGEST_BYTES, _KECCAK_PADDING)
        return local.out_view[:]  # type: ignore[no-any-return]

    # Self-test against the public API before trusting the shortcut.
    for probe in (b"", b"abc", bytes(range(256)) * 3):
        if keccak256_fast(probe) != _keccak256_portable(probe):
            raise ImportError("fast keccak path disagrees with pycryptodome")
    return keccak256_fast


try:
    keccak256: Callable[[bytes], bytes] = _build_fast_keccak256()
    KECCAK_BACKEND = "cffi-pycryptodome"
except Exception:  # any failure in the optional fast path falls back to the public API
    keccak256 = _keccak256_portable
    KECCAK_BACKEND = "pycryptodome"

__all__ = ["KECCAK_BACKEND", "keccak256"]
