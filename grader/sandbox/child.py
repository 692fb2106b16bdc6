"""The child side of the sandbox: imports the submission and calls it.

Run as a script (`python -I -S child.py FD_IN FD_OUT`), inside whatever
isolation the parent set up. It imports nothing of the grader but `wire`,
which sits beside it. Everything it sends is untrusted by the parent: this
process runs student code and may be entirely under the student's control.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import wire  # noqa: E402

sys.path.remove(_HERE)  # the grader's own folder is no place to import student modules from

MAX_TEXT = 2000
MAX_FUNCTIONS = 512
# Python-to-Python recursion in 3.11 lives on the heap: with the limit raised to 10**8 a
# recursion bomb runs for tens of seconds before memory runs out. 10000 fits the 8 MiB C
# stack even through C-level recursion (repr, map), and no homework needs more.
MAX_RECURSION = 10_000


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
        if isinstance(exc, RecursionError):
            message += (f" (the recursion limit is {sys.getrecursionlimit()}; submissions may raise it to "
                        f"at most {MAX_RECURSION})")
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


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


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
    tmp_real = os.path.realpath(tmpdir) if tmpdir else None
    tmp_prefix = tmp_real.rstrip(os.sep) + os.sep if tmp_real else None

    def writes(args):
        mode = args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 else None
        if isinstance(mode, str):
            return any(c in mode for c in "wax+")
        return type(flags) is int and bool(flags & _WRITE_FLAGS)

    def hook(event, args):
        message = refusals.get(event)
        if message is not None:
            raise PermissionError(message)
        if event == "open" and writes(args) and isinstance(args[0], (str, bytes)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if tmp_prefix is None or not (path + os.sep).startswith(tmp_prefix):
                raise PermissionError("writing files outside the temporary directory is not allowed in "
                                      f"submissions (write under {tmp_real}, which tempfile.gettempdir() returns)")
            folder = os.path.dirname(path)
            if not os.path.isdir(folder):
                # E.g. a path of the grader's machine under /tmp: the sandbox's /tmp is not that one.
                raise FileNotFoundError(f"{folder} does not exist: the sandbox's temporary directory {tmp_real} "
                                        "is private and starts empty")

    sys.addaudithook(hook)


def _limit_recursion():
    """Cap sys.setrecursionlimit (a clear RecursionError instead of a long timeout)."""
    real = sys.setrecursionlimit

    def setrecursionlimit(limit):
        real(min(limit, MAX_RECURSION) if type(limit) is int else limit)

    setrecursionlimit.__doc__ = real.__doc__
    real(min(sys.getrecursionlimit(), MAX_RECURSION))
    sys.setrecursionlimit = setrecursionlimit


# ---- hardening (ctypes): privileges, Landlock, seccomp ---------------------------------------

PR_SET_KEEPCAPS = 8
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522

SYS_LANDLOCK_CREATE_RULESET = 444  # x86_64 and aarch64 alike
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

FS_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FS_READ_WRITE = (FS_READ_FILE | FS_READ_DIR | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR
                 | FS_MAKE_REG | FS_MAKE_SYM | FS_MAKE_FIFO | FS_MAKE_SOCK | FS_REFER | FS_TRUNCATE)
FS_DEVICE = FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE


def landlock_masks(abi):
    """(handled_access_fs, handled_access_net, scoped, size of the ruleset attr) for an ABI version."""
    fs = (1 << 13) - 1
    if abi >= 2:
        fs |= FS_REFER
    if abi >= 3:
        fs |= FS_TRUNCATE
    if abi >= 5:
        fs |= FS_IOCTL_DEV
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    return fs, net, scoped, size


class _Kernel:
    """The few libc entry points the hardening needs."""

    def __init__(self):
        import ctypes

        self.ct = ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self.prctl = libc.prctl
        self.prctl.restype = ctypes.c_int
        self.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        self.syscall = libc.syscall
        self.syscall.restype = ctypes.c_long
        self.capset = libc.capset
        self.capset.restype = ctypes.c_int

    def errno(self):
        return os.strerror(self.ct.get_errno())

    def no_new_privs(self):
        if self.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed: " + self.errno())

    def drop_privileges(self, uid, keep):
        """As root: become `uid` (a slot's own uid). Always: keep only the capabilities in
        `keep` (CAP_DAC_READ_SEARCH where the Python install sits under a private /root)."""
        ct = self.ct
        if uid is not None and os.getuid() == 0:
            if keep and self.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
                raise OSError("prctl(PR_SET_KEEPCAPS) failed: " + self.errno())
            cap = 0
            while cap < 64:
                if cap not in keep and self.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                    break  # EINVAL past the last capability
                cap += 1
            self.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if os.getuid() != uid or os.geteuid() != uid:
                raise OSError(f"could not become uid {uid}")

        class Header(ct.Structure):
            _fields_ = [("version", ct.c_uint32), ("pid", ct.c_int)]

        class Data(ct.Structure):
            _fields_ = [("effective", ct.c_uint32), ("permitted", ct.c_uint32), ("inheritable", ct.c_uint32)]

        data = (Data * 2)()
        for cap in keep:
            data[cap // 32].effective |= 1 << (cap % 32)
            data[cap // 32].permitted |= 1 << (cap % 32)
        if self.capset(ct.byref(Header(LINUX_CAPABILITY_VERSION_3, 0)), data) != 0:
            raise OSError("capset failed: " + self.errno())
        self.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)

    def landlock(self, rules):
        """Restrict this process's filesystem (and TCP, signal, abstract socket) access for good.
        Returns the ABI version used."""
        import stat

        ct = self.ct
        call = self.syscall
        abi = call(ct.c_long(SYS_LANDLOCK_CREATE_RULESET), ct.c_void_p(None), ct.c_size_t(0),
                   ct.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
        if abi < 1:
            raise OSError("Landlock is not available: " + self.errno())
        fs, net, scoped, size = landlock_masks(abi)

        class RulesetAttr(ct.Structure):
            _fields_ = [("handled_access_fs", ct.c_uint64), ("handled_access_net", ct.c_uint64),
                        ("scoped", ct.c_uint64)]

        class PathBeneath(ct.Structure):
            _pack_ = 1
            _fields_ = [("allowed_access", ct.c_uint64), ("parent_fd", ct.c_int32)]

        attr = RulesetAttr(fs, net, scoped)
        ruleset = call(ct.c_long(SYS_LANDLOCK_CREATE_RULESET), ct.byref(attr), ct.c_size_t(size), ct.c_uint32(0))
        if ruleset < 0:
            raise OSError("landlock_create_ruleset failed: " + self.errno())
        try:
            for key, access in (("read", FS_READ), ("files", FS_READ_FILE | FS_EXECUTE),
                                ("write", FS_READ_WRITE), ("devices", FS_DEVICE)):
                for path in rules.get(key, []):
                    try:
                        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                    except OSError:
                        continue  # gone since the parent looked: nothing to grant
                    try:
                        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                        allowed = access & fs & (~0 if is_dir else FS_FILE_RIGHTS)
                        rule = PathBeneath(allowed, fd)
                        if call(ct.c_long(SYS_LANDLOCK_ADD_RULE), ct.c_int(ruleset),
                                ct.c_int(LANDLOCK_RULE_PATH_BENEATH), ct.byref(rule), ct.c_uint32(0)) != 0:
                            raise OSError(f"landlock_add_rule({path}) failed: " + self.errno())
                    finally:
                        os.close(fd)
            self.no_new_privs()
            if call(ct.c_long(SYS_LANDLOCK_RESTRICT_SELF), ct.c_int(ruleset), ct.c_uint32(0)) != 0:
                raise OSError("landlock_restrict_self failed: " + self.errno())
        finally:
            os.close(ruleset)
        return int(abi)

    def seccomp(self, program_hex):
        """Install the parent's seccomp-BPF program on this (single-threaded) process. After
        this, no new process, thread, program, socket or signal: the kernel refuses them."""
        ct = self.ct
        program = bytes.fromhex(program_hex)
        if not program or len(program) % 8:
            raise ValueError("malformed filter")

        class SockFprog(ct.Structure):
            _fields_ = [("len", ct.c_ushort), ("filter", ct.c_void_p)]

        buffer = ct.create_string_buffer(program, len(program))
        fprog = SockFprog(len(program) // 8, ct.cast(buffer, ct.c_void_p))
        self.no_new_privs()
        if self.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ct.addressof(fprog), 0, 0) != 0:
            raise OSError("prctl(PR_SET_SECCOMP) failed: " + self.errno())


def _warm_import_caches():
    """Fill the import system's directory caches while the folders are still listable:
    Landlock grants the standard library entry by entry (around its site-packages), so
    its folder itself cannot be listed afterwards; stat still works, so the caches stay valid."""
    import importlib.machinery

    importlib.machinery.PathFinder.find_spec("_grader_warm_the_import_caches_")


def _harden(setup):
    """Apply the parent's layers in order: privileges, Landlock, seccomp.
    Returns (layers applied, why not): any failure is fatal for the child."""
    layers = []
    step = "the sandbox"
    try:
        kernel = _Kernel()
        user = setup.get("user")
        if isinstance(user, dict):
            step = "dropping privileges"
            uid = user.get("uid")
            keep = [c for c in user.get("keep_caps", []) if type(c) is int]
            kernel.drop_privileges(uid if type(uid) is int else None, keep)
            layers.append("user")
        if setup.get("landlock"):
            step = "Landlock"
            _warm_import_caches()
            layers.append(f"landlock-abi-{kernel.landlock(setup['landlock'])}")
        if setup.get("seccomp"):
            step = "the syscall filter"
            kernel.seccomp(setup["seccomp"])
            layers.append("seccomp")
        return layers, ""
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        return layers, f"{step} could not be applied: {type(exc).__name__}: {exc}"
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
    layers, why = _harden(setup)
    if why:
        wire.write_frame(fd_out, {"ready": False, "detail": why})
        return
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
    _limit_recursion()
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
