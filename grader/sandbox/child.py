"""The child side of the sandbox: imports the submission and calls it.

Run as a script (`python -I -S child.py FD_IN FD_OUT`), inside whatever
isolation the parent set up. It imports nothing of the grader but `wire`,
which sits beside it. Everything it sends is untrusted by the parent: this
process runs student code and may be entirely under the student's control.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wire  # noqa: E402

MAX_TEXT = 2000
MAX_FUNCTIONS = 512


def _text(value, limit=MAX_TEXT):
    try:
        text = str(value)
    except BaseException:  # a hostile __str__
        text = "<unprintable>"
    return text[:limit]


def _error(exc, filename):
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    if isinstance(exc, SyntaxError):
        message = _text(exc.msg)
    elif isinstance(exc, SystemExit):
        message = f"the submission called sys.exit({_text(exc.code, 100)})"
    else:
        message = _text(exc)
        if isinstance(exc, RuntimeError) and "can't start new thread" in message:
            message += " (threads are not allowed in submissions)"
    return {
        "type": type(exc).__name__[:100],
        "message": message,
        "line": line,
        "not_implemented": isinstance(exc, NotImplementedError),
    }


class Encoder:
    """Turns returned values into header metadata plus one payload."""

    def __init__(self, np):
        self.np = np
        self.chunks = []
        self.size = 0

    def _array(self, arr, scalar):
        np = self.np
        arr = np.asarray(arr).view(np.ndarray).copy(order="C")
        if arr.dtype.kind not in "biuf":
            return {"t": "other", "type": f"array of dtype {arr.dtype}"[:100]}
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        data = arr.tobytes()
        meta = {"t": "array", "dtype": arr.dtype.str, "shape": list(arr.shape),
                "scalar": scalar, "off": self.size, "n": len(data)}
        self.chunks.append(data)
        self.size += len(data)
        return meta

    def value(self, v):
        np = self.np
        if v is None:
            return {"t": "none"}
        if type(v) in (bool, int, float) or isinstance(v, np.generic):
            try:
                return self._array(np.asarray(v), True)
            except (OverflowError, ValueError, TypeError):
                return {"t": "other", "type": type(v).__name__[:100]}
        if isinstance(v, np.ndarray):
            return self._array(v, False)
        if isinstance(v, (list, tuple)):
            try:
                return self._array(np.asarray(v, dtype=float), False)
            except (ValueError, TypeError, OverflowError):
                return {"t": "other", "type": f"{type(v).__name__} that does not convert to a float array"}
        return {"t": "other", "type": type(v).__name__[:100]}

    def result(self, v):
        if isinstance(v, (tuple, list)):
            return {"t": "seq", "type": type(v).__name__, "items": [self.value(x) for x in v[:64]]}
        return self.value(v)

    def payload(self):
        return b"".join(self.chunks)


def decode_args(np, metas, payload):
    args = []
    for meta in metas:
        dtype = np.dtype(meta["dtype"])
        count = int(np.prod(meta["shape"], dtype=np.int64))
        arr = np.frombuffer(payload, dtype=dtype, count=count, offset=meta["off"]) if count else np.zeros(0, dtype)
        arr = arr.reshape(meta["shape"]).copy()
        args.append(arr.item() if meta.get("scalar") else arr)
    return args


def _install_audit_hook(tmpdir):
    """Clear messages for honest mistakes; not a security layer."""
    refusals = {
        "socket.__new__": "network access is not allowed in submissions",
        "socket.connect": "network access is not allowed in submissions",
        "subprocess.Popen": "starting programs is not allowed in submissions",
        "os.system": "starting programs is not allowed in submissions",
        "os.exec": "starting programs is not allowed in submissions",
        "os.posix_spawn": "starting programs is not allowed in submissions",
        "os.fork": "starting processes is not allowed in submissions",
        "os.forkpty": "starting processes is not allowed in submissions",
        "os.kill": "signalling processes is not allowed in submissions",
        "os.killpg": "signalling processes is not allowed in submissions",
        "_thread.start_new_thread": "threads are not allowed in submissions",
        "ctypes.dlopen": "ctypes is not allowed in submissions",
    }
    tmp_prefix = os.path.realpath(tmpdir) + os.sep if tmpdir else None

    def hook(event, args):
        message = refusals.get(event)
        if message is not None:
            raise PermissionError(message)
        if event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
            path = args[0]
            if isinstance(path, (str, bytes)):
                path = os.fsdecode(path)
                if tmp_prefix is None or not os.path.realpath(path).startswith(tmp_prefix):
                    raise PermissionError("writing files outside the temporary directory is not allowed in submissions")

    sys.addaudithook(hook)


def _install_seccomp(program_hex):
    """Install the parent's seccomp-BPF program on this (single-threaded) process.

    Returns "" on success, else why not. After this, no new process, thread,
    program, socket or signal: the kernel refuses them whatever the code does.
    """
    try:
        import ctypes

        program = bytes.fromhex(program_hex)
        if not program or len(program) % 8:
            return "malformed filter"
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
        prctl.restype = ctypes.c_int
        prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        buffer = ctypes.create_string_buffer(program, len(program))
        fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
        if prctl(38, 1, None, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return "prctl(PR_SET_NO_NEW_PRIVS) failed: " + os.strerror(ctypes.get_errno())
        if prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            return "prctl(PR_SET_SECCOMP) failed: " + os.strerror(ctypes.get_errno())
        return ""
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        return f"{type(exc).__name__}: {exc}"
    finally:
        # Student code gets no ready-made ctypes handle (re-importing it hits the audit hook).
        for name in [m for m in sys.modules if m == "ctypes" or m.startswith("ctypes.")]:
            del sys.modules[name]


def _apply_limits(limits):
    """Lower (soft = hard) resource limits; student code cannot raise them again."""
    import resource

    for name, value in limits.items():
        which = getattr(resource, "RLIMIT_" + name.upper(), None)
        if which is not None and type(value) is int:
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a replaced or closed stream
            pass


def main():
    fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2])
    setup, _ = wire.read_frame(fd_in)
    sys.path[:0] = setup.get("paths", [])
    import numpy as np

    if setup.get("rlimits"):
        _apply_limits(setup["rlimits"])
    layers = []
    if setup.get("seccomp"):
        why = _install_seccomp(setup["seccomp"])
        if why:
            wire.write_frame(fd_out, {"ready": False, "detail": "the syscall filter could not be installed: " + why})
            return
        layers.append("seccomp")
    wire.write_frame(fd_out, {"ready": True, "layers": layers})

    filename = setup["filename"]
    try:
        with open(setup["submission"], "rb") as handle:
            source = handle.read()
    except OSError as exc:
        wire.write_frame(fd_out, {"ok": False, "error": _error(exc, filename)})
        return
    module = type(sys)("submission")
    module.__file__ = filename
    sys.modules["submission"] = module
    if setup.get("audit", True):
        _install_audit_hook(setup.get("tmpdir"))
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - any failure of student code is reported
        _flush()
        wire.write_frame(fd_out, {"ok": False, "error": _error(exc, filename)})
        return

    import inspect

    functions = {}
    for name, fn in list(module.__dict__.items())[:MAX_FUNCTIONS]:
        if not isinstance(name, str) or name.startswith("_") or not callable(fn):
            continue
        info = {"params": None, "line": None}
        try:
            info["params"] = [_text(p, 100) for p in inspect.signature(fn).parameters.values()][:32]
            info["line"] = fn.__code__.co_firstlineno
        except BaseException:
            pass
        functions[name] = info
    _flush()
    wire.write_frame(fd_out, {"ok": True, "functions": functions})

    while True:
        try:
            request, payload = wire.read_frame(fd_in)
        except wire.WireClosed:
            return
        if request.get("op") != "call":
            return
        args = decode_args(np, request["args"], payload)
        try:
            result = module.__dict__[request["fn"]](*args)
        except BaseException as exc:  # noqa: BLE001
            _flush()
            wire.write_frame(fd_out, {"ok": False, "id": request["id"], "error": _error(exc, filename)})
            continue
        _flush()
        encoder = Encoder(np)
        try:
            header = {"ok": True, "id": request["id"], "result": encoder.result(result),
                      "args_after": [encoder.value(a) for a in args]}
        except BaseException as exc:  # noqa: BLE001 - e.g. a hostile __len__
            wire.write_frame(fd_out, {"ok": False, "id": request["id"], "error": _error(exc, filename)})
            continue
        wire.write_frame(fd_out, header, encoder.payload())


if __name__ == "__main__":
    main()
