"""A seccomp-BPF syscall filter, built in the parent as raw bytes.

The child installs these bytes (ctypes: prctl(PR_SET_NO_NEW_PRIVS) then
prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)) after numpy is imported and
before the submission runs. Nothing here is imported by the child.

Policy: allow everything except the syscalls below, which fail with EPERM:
networking (socket, socketpair), new processes and threads (clone, clone3,
fork, vfork), running programs (execve, execveat), signalling any process
(kill, tkill, tgkill, sigqueue, pidfd), and the kernel's attack surface a
numpy function never needs (ptrace, mount, namespaces, keyrings, bpf,
perf, io_uring, modules...). Syscalls that act on another process by pid
(prlimit64, sched_setaffinity, ...) are allowed on the caller only (pid 0):
without a PID namespace (Landlock, the bare process) the child may share the
grader's uid and could otherwise lower the grader's limits or pin it to a CPU;
setpriority and ioprio_set are denied outright (PRIO_USER/IOPRIO_WHO_USER with
id 0 reach every process of the uid). An unknown architecture, or the x32 ABI
on x86_64, kills the process: the filter fails closed.
"""

from __future__ import annotations

import errno
import platform
import struct

# struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }
_INSN = struct.Struct("=HBBI")
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
# struct seccomp_data { int nr; __u32 arch; ... }
_OFF_NR, _OFF_ARCH, _OFF_ARGS = 0, 4, 16

RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
RET_KILL_PROCESS = 0x80000000

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000

DENIED = (
    # network
    "socket", "socketpair",
    # processes, threads, programs
    "clone", "clone3", "fork", "vfork", "execve", "execveat",
    # signals to anyone (self included: a numpy function never needs them)
    "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal",
    "pidfd_getfd",
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
    # namespaces, mounts, roots
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
    # kernel attack surface
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "personality",
    # machine administration
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl",
    # other processes' scheduling (who = 0 with PRIO_USER means every process of the uid)
    "setpriority", "ioprio_set",
)
# Allowed only on the calling process: syscall -> index of its pid argument, which must be 0.
SELF_ONLY = {
    "prlimit64": 0, "sched_setaffinity": 0, "sched_setscheduler": 0, "sched_setparam": 0, "sched_setattr": 0,
    "get_robust_list": 0, "migrate_pages": 0, "move_pages": 0,
}

SYSCALLS = {
    AUDIT_ARCH_X86_64: {
        "socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62,
        "tkill": 200, "tgkill": 234, "ptrace": 101, "mount": 165, "umount2": 166, "unshare": 272, "setns": 308,
        "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
        "process_vm_readv": 310, "process_vm_writev": 311, "execveat": 322, "clone3": 435, "pivot_root": 155,
        "chroot": 161, "open_by_handle_at": 304, "name_to_handle_at": 303, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169,
        "swapon": 167, "swapoff": 168, "personality": 135, "pidfd_open": 434, "pidfd_send_signal": 424,
        "pidfd_getfd": 438, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "process_madvise": 440, "kcmp": 312, "acct": 163, "quotactl": 179, "setpriority": 141, "ioprio_set": 251,
        "prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144, "sched_setparam": 142,
        "sched_setattr": 314, "get_robust_list": 274, "migrate_pages": 256, "move_pages": 279,
    },
    AUDIT_ARCH_AARCH64: {  # asm-generic numbering; no fork/vfork syscalls
        "socket": 198, "socketpair": 199, "clone": 220, "execve": 221, "kill": 129, "tkill": 130, "tgkill": 131,
        "ptrace": 117, "mount": 40, "umount2": 39, "unshare": 97, "setns": 268, "keyctl": 219, "add_key": 217,
        "request_key": 218, "bpf": 280, "perf_event_open": 241, "process_vm_readv": 270,
        "process_vm_writev": 271, "execveat": 281, "clone3": 435, "pivot_root": 41, "chroot": 51,
        "open_by_handle_at": 265, "name_to_handle_at": 264, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224,
        "swapoff": 225, "personality": 92, "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
        "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "process_madvise": 440,
        "kcmp": 272, "acct": 89, "quotactl": 60, "setpriority": 140, "ioprio_set": 30, "prlimit64": 261,
        "sched_setaffinity": 122, "sched_setscheduler": 119, "sched_setparam": 118, "sched_setattr": 274,
        "get_robust_list": 100, "migrate_pages": 238, "move_pages": 239,
    },
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return _INSN.pack(code, jt, jf, k)


def _arch_block(arch: int, denied: tuple[str, ...], err: int, self_only: dict[str, int]) -> list[bytes]:
    """Instructions run when the arch matches: load nr, deny listed, check pid arguments, allow the rest.

    Layout: ld nr | [x32 check] | jeq denied * n | jeq self-only * m | ret ALLOW | ret ERRNO
            | per self-only syscall: ld arg (low word) | jeq 0 | ret ALLOW | ret ERRNO | [ret KILL]
    (classic BPF jumps forward only, so every check block carries its own returns).
    """
    table = SYSCALLS[arch]
    numbers = sorted({table[name] for name in denied if name in table})
    checked = sorted({(table[name], arg) for name, arg in self_only.items()
                      if name in table and table[name] not in numbers})
    code: list[list] = []  # [op, k, jt, jf]; jt/jf are offsets or label names
    labels: dict[str, int] = {}
    x32 = arch == AUDIT_ARCH_X86_64
    code.append([_LD_W_ABS, _OFF_NR, 0, 0])
    if x32:
        # x32 ABI calls (nr | 0x40000000) would dodge the numbers above: kill them.
        code.append([_JGE_K, X32_SYSCALL_BIT, "kill", 0])
    for nr in numbers:
        code.append([_JEQ_K, nr, "errno", 0])
    for i, (nr, _arg) in enumerate(checked):
        code.append([_JEQ_K, nr, f"check{i}", 0])
    code.append([_RET_K, RET_ALLOW, 0, 0])
    labels["errno"] = len(code)
    code.append([_RET_K, RET_ERRNO | (err & 0xFFFF), 0, 0])
    for i, (_nr, arg) in enumerate(checked):
        labels[f"check{i}"] = len(code)
        code.append([_LD_W_ABS, _OFF_ARGS + 8 * arg, 0, 0])  # low 32 bits (little-endian): pid_t
        code.append([_JEQ_K, 0, 0, 1])
        code.append([_RET_K, RET_ALLOW, 0, 0])
        code.append([_RET_K, RET_ERRNO | (err & 0xFFFF), 0, 0])
    if x32:
        labels["kill"] = len(code)
        code.append([_RET_K, RET_KILL_PROCESS, 0, 0])
    block = []
    for index, (op, k, jt, jf) in enumerate(code):
        jumps = []
        for target in (jt, jf):
            offset = labels[target] - index - 1 if isinstance(target, str) else target
            if not 0 <= offset <= 255:
                raise ValueError("seccomp jump out of range")
            jumps.append(offset)
        block.append(_insn(op, k, jt=jumps[0], jf=jumps[1]))
    return block


def build_filter(denied: tuple[str, ...] = DENIED, err: int = errno.EPERM,
                 self_only: dict[str, int] | None = None) -> bytes:
    """The filter program as the bytes of a `struct sock_filter` array."""
    self_only = SELF_ONLY if self_only is None else self_only
    program = [_insn(_LD_W_ABS, _OFF_ARCH)]
    for arch in (AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64):
        block = _arch_block(arch, denied, err, self_only)
        if len(block) > 255:
            raise ValueError("seccomp block too long for a jump over it")
        program.append(_insn(_JEQ_K, arch, jt=0, jf=len(block)))
        program += block
    program.append(_insn(_RET_K, RET_KILL_PROCESS))
    if len(program) > 4096:
        raise ValueError("seccomp filter too long")
    return b"".join(program)


def supported() -> tuple[bool, str]:
    """Whether this machine can run the filter, and why not."""
    if platform.system() != "Linux":
        return False, f"seccomp is Linux-only (this is {platform.system()})"
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "aarch64", "arm64"):
        return False, f"no seccomp syscall table for {machine}"
    try:
        with open("/proc/self/status") as handle:
            if not any(line.startswith("Seccomp:") for line in handle):
                return False, "the kernel was built without seccomp (CONFIG_SECCOMP_FILTER)"
    except OSError:
        pass
    return True, ""
