# Types of the compiled module built from _cpu.c; without it (or with
# CCXTPRO_SYNC_PURE_PYTHON=1) _sync/follow.py calls sched_getcpu through ctypes.

def cpu() -> int: ...
