"""The Linux primitives the sandbox is built from, each a thin wrapper of one system call.

Nothing here decides policy: :mod:`~gdcourse.grading.sandbox.supervisor` and
:mod:`~gdcourse.grading.sandbox.student` call these in the order that confines a
process. Linux only (x86-64 for the system-call filter).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import struct
from collections.abc import Iterable, Mapping

__all__ = [
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWUSER",
    "CLONE_NEWUTS",
    "CLONE_PARENT",
    "MS_BIND",
    "MS_NODEV",
    "MS_NOEXEC",
    "MS_NOSUID",
    "MS_PRIVATE",
    "MS_RDONLY",
    "MS_REC",
    "MS_REMOUNT",
    "clone_process",
    "collapse_heap",
    "drop_capabilities",
    "install_syscall_filter",
    "map_own_ids",
    "mount",
    "no_new_privileges",
    "set_death_signal",
    "set_hostname",
    "set_limits",
    "syscall_filter_supported",
    "unshare",
]

# linux/sched.h
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000
CLONE_THREAD = 0x00010000
CLONE_PARENT = 0x00008000
CLONE_NEW_ANY = (
    CLONE_NEWNS
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
    | CLONE_NEWCGROUP
)
# linux/mount.h
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
# linux/prctl.h
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def unshare(flags: int) -> None:
    """``unshare(2)``: move this process into new namespaces (``CLONE_NEW*`` flags)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


_SYS_CLONE3 = 435  # the same number on every architecture that has it (Linux 5.3)
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
"""The older ``clone``, where ``clone3`` is refused (an older kernel, a container's seccomp
profile); with no stack, thread-local storage or tid pointers its arguments' order (which
differs between architectures) does not matter."""
_SIGCHLD = 17
_python = ctypes.PyDLL(None, use_errno=True)  # called with the GIL held, as os.fork is
_python.syscall.restype = ctypes.c_long


def _clone(flags: int, exit_signal: int) -> int:
    # struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
    args = (ctypes.c_uint64 * 8)(flags, 0, 0, 0, exit_signal, 0, 0, 0)
    pid = int(
        _python.syscall(
            ctypes.c_long(_SYS_CLONE3),
            ctypes.c_void_p(ctypes.addressof(args)),
            ctypes.c_size_t(ctypes.sizeof(args)),
        )
    )
    if pid < 0 and ctypes.get_errno() == errno.ENOSYS and _SYS_CLONE is not None:
        zero = ctypes.c_void_p(0)
        pid = int(
            _python.syscall(
                ctypes.c_long(_SYS_CLONE),
                ctypes.c_ulong(flags | _SIGCHLD),  # a CLONE_PARENT child signals as we do
                zero,
                zero,
                zero,
                zero,
            )
        )
    return pid


def clone_process(flags: int = 0, *, sibling: bool = True) -> int:
    """Fork this process as ``os.fork`` does, into the new namespaces ``flags`` names
    (``CLONE_NEW*``); with ``sibling``, as its *parent's* child (``CLONE_PARENT``).

    With ``CLONE_NEWPID`` the child is PID 1 of its namespace. Returns the child's pid (as
    this process's PID namespace numbers it) here and 0 in the child. Python's own before-
    and after-fork steps run around the system call (``PyOS_BeforeFork`` and friends), so
    the child's interpreter is as sound as one ``os.fork`` made; like ``os.fork``, it is
    meant for a process with a single thread. ``clone3`` first, the older ``clone`` where
    that is refused.
    """
    if sibling:  # its exit is signalled to our parent as ours is: no signal of its own
        flags, exit_signal = flags | CLONE_PARENT, 0
    else:
        exit_signal = _SIGCHLD
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _clone(flags, exit_signal)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    code = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(code, f"clone: {os.strerror(code)}")
    return pid


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """``mount(2)``."""
    _check(
        _libc.mount(
            None if source is None else os.fsencode(source),
            os.fsencode(target),
            None if fstype is None else fstype.encode(),
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def map_own_ids(uid: int, gid: int) -> None:
    """In a user namespace of its own: map this process's own uid and gid, nothing else.

    An unprivileged process may map exactly its own ids (``setgroups`` denied first).
    """
    with open("/proc/self/setgroups", "w") as file:
        file.write("deny")
    with open("/proc/self/uid_map", "w") as file:
        file.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as file:
        file.write(f"{gid} {gid} 1")


def set_hostname(name: str) -> None:
    """``sethostname(2)`` (needs a UTS namespace of one's own)."""
    data = name.encode()
    _check(_libc.sethostname(data, len(data)), "sethostname")


def set_death_signal(signal_number: int) -> None:
    """Ask the kernel to send ``signal_number`` to this process when its parent dies."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def set_limits(limits: Mapping[int, int]) -> None:
    """Set soft and hard resource limits (``RLIMIT_*`` -> value): they cannot be raised again."""
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))


MADV_COLLAPSE = 25  # linux/mman.h, Linux 6.1
_HUGE = 2 << 20
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def collapse_heap(maps: str) -> int:
    """Back this process's private writable memory with 2 MiB pages where the kernel can
    (``madvise(MADV_COLLAPSE)``); return the bytes collapsed (0 where it cannot).

    ``maps`` is ``/proc/self/maps``. A fork copies one page-table entry per page of the
    parent's writable memory, and its exit frees them: for an interpreter holding NumPy and
    torch (about 150 MiB written) that is most of a fork's cost. Collapsed, the same memory
    takes 512 times fewer entries; a page the child then writes is split and copied as
    before. Nothing else changes: the memory, its contents and what it counts towards a
    limit stay the same.
    """
    collapsed = 0
    for line in maps.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue
        start, end = (int(value, 16) for value in fields[0].split("-"))
        start, end = -(-start // _HUGE) * _HUGE, end // _HUGE * _HUGE
        if end - start >= _HUGE and _libc.madvise(start, end - start, MADV_COLLAPSE) == 0:
            collapsed += end - start
    return collapsed


def no_new_privileges() -> None:
    """``PR_SET_NO_NEW_PRIVS``: no exec can ever grant privileges again (needed for seccomp)."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up every capability: bounding set, ambient set, then effective/permitted/inheritable.

    Call it last among the steps that need privileges (in the process's own user
    namespace): afterwards the process is an ordinary user there too.
    """
    last = 63
    for capability in range(last + 1):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            if code == errno.EINVAL:  # past the kernel's last capability
                break
            raise OSError(code, f"prctl(PR_CAPBSET_DROP, {capability}): {os.strerror(code)}")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


# ------------------------------------------------------------------------ the system-call filter

# x86-64 system-call numbers (asm/unistd_64.h) that the student's process never needs.
_X86_64 = {
    "rt_sigprocmask": 14,
    "kill": 62,
    "clone": 56,
    "clone3": 435,
    "execve": 59,
    "execveat": 322,
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "pidfd_getfd": 438,
    "process_madvise": 440,
    "kcmp": 312,
    "bpf": 321,
    "userfaultfd": 323,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "personality": 135,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "syslog": 103,
    "acct": 163,
    "swapon": 167,
    "quotactl": 179,
    "fanotify_init": 300,
}
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000

DENIED = tuple(
    name for name in _X86_64 if name not in ("clone", "clone3", "rt_sigprocmask", "kill")
)
"""System calls refused outright (``EPERM``); ``clone`` is refused for threads and new
namespaces, ``clone3`` answers ``ENOSYS`` so that the C library falls back to ``clone``."""

# classic BPF (linux/filter.h, linux/seccomp.h)
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16
SIG_BLOCK = 0


def syscall_filter_supported() -> bool:
    """Whether :func:`install_syscall_filter` knows this machine's system calls (x86-64)."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def _program(denied: Iterable[str]) -> list[tuple[int, int, int, int]]:
    """The filter as ``(code, jt, jf, k)`` instructions.

    Written with labels (a jump names the instruction it goes to); :func:`_assemble`
    turns them into the relative offsets of classic BPF.
    """
    eperm = _SECCOMP_RET_ERRNO | errno.EPERM
    enosys = _SECCOMP_RET_ERRNO | errno.ENOSYS
    source: list[tuple[str | None, int, str | None, str | None, int]] = [
        # (label, code, jump if true, jump if false, k); None: fall through
        (None, _BPF_LD_W_ABS, None, None, _OFFSET_ARCH),
        (None, _BPF_JEQ_K, "arch_ok", None, _AUDIT_ARCH_X86_64),
        (None, _BPF_RET_K, None, None, _SECCOMP_RET_KILL_PROCESS),  # another ABI: never ours
        ("arch_ok", _BPF_LD_W_ABS, None, None, _OFFSET_NR),
        (None, _BPF_JGE_K, "refuse", None, _X32_SYSCALL_BIT),  # x32 aliases: refuse them all
        (None, _BPF_JEQ_K, None, "not_clone3", _X86_64["clone3"]),
        (None, _BPF_RET_K, None, None, enosys),  # the C library falls back to clone
        ("not_clone3", _BPF_JEQ_K, None, "not_clone", _X86_64["clone"]),
        (None, _BPF_LD_W_ABS, None, None, _OFFSET_ARG0),  # the low 32 bits of the flags
        (None, _BPF_JSET_K, "refuse", None, CLONE_THREAD),
        (None, _BPF_JSET_K, "refuse", None, CLONE_NEW_ANY),
        (None, _BPF_RET_K, None, None, _SECCOMP_RET_ALLOW),  # a plain fork
        ("not_clone", _BPF_LD_W_ABS, None, None, _OFFSET_NR),
        # signals may be blocked, never unblocked: once the process has blocked them all
        # (sealed), no Python signal handler can ever run in it or in its forks
        (None, _BPF_JEQ_K, None, "not_sigmask", _X86_64["rt_sigprocmask"]),
        (None, _BPF_LD_W_ABS, None, None, _OFFSET_ARG0),
        (None, _BPF_JEQ_K, "allow", "refuse", SIG_BLOCK),
        # kill(0), kill(-1), kill(-group): never a signal to a whole group from here
        ("not_sigmask", _BPF_JEQ_K, None, "not_kill", _X86_64["kill"]),
        (None, _BPF_LD_W_ABS, None, None, _OFFSET_ARG0),
        (None, _BPF_JSET_K, "refuse", None, 0x80000000),
        (None, _BPF_JEQ_K, "refuse", "allow", 0),
        ("not_kill", _BPF_LD_W_ABS, None, None, _OFFSET_NR),
    ]
    for name in denied:
        source.append((None, _BPF_JEQ_K, "refuse", None, _X86_64[name]))
    source.append(("allow", _BPF_RET_K, None, None, _SECCOMP_RET_ALLOW))
    source.append(("refuse", _BPF_RET_K, None, None, eperm))
    return _assemble(source)


def _assemble(
    source: list[tuple[str | None, int, str | None, str | None, int]],
) -> list[tuple[int, int, int, int]]:
    labels = {label: index for index, (label, *_) in enumerate(source) if label}
    program = []
    for index, (_, code, if_true, if_false, k) in enumerate(source):
        jt = 0 if if_true is None else labels[if_true] - index - 1
        jf = 0 if if_false is None else labels[if_false] - index - 1
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise ValueError(f"jump out of range at instruction {index}")
        program.append((code, jt, jf, k))
    return program


def install_syscall_filter(denied: Iterable[str] = DENIED) -> None:
    """Refuse the system calls a graded submission never needs, for good.

    Threads (``clone`` with ``CLONE_THREAD``) and new namespaces are refused, so
    that every line of Python the student's process runs stays in the thread the
    shortcut guard watches; ``execve`` is refused, so no other program runs
    without the guard; a signal mask can be added to, never taken from (see
    :mod:`~gdcourse.grading.sandbox.seal`); ``kill`` of a process group (a pid of 0 or
    below) is refused; ``ptrace``, ``process_vm_writev``, ``bpf``, ``io_uring``,
    key rings and mounts are refused as they are in container runtimes.
    Requires :func:`no_new_privileges` first. Inherited by every child.
    """
    if not syscall_filter_supported():
        raise OSError(
            errno.ENOSYS,
            f"the system-call filter knows x86-64 Linux only, this is {platform.machine()}",
        )
    program = _program(denied)
    raw = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Program(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    _check(
        _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0),
        "prctl(PR_SET_SECCOMP)",
    )
