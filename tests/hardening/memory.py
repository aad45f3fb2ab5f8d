"""Reading this process's memory figures from /proc (Linux)."""

from __future__ import annotations

from pathlib import Path


def status_kib(field: str, pid: int | str = "self") -> int:
    """One `/proc/<pid>/status` figure (VmRSS, VmHWM...) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRss:
    """The growth of this process's resident memory across a block, in MiB.

    Uses the kernel's peak counter (VmHWM) after resetting it, so a spike that
    was freed again before the block ended still counts.
    """

    def __enter__(self) -> PeakRss:
        self._peak_counter = reset_peak()
        self.before_kib = status_kib("VmRSS")
        self.growth_mib = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        after = status_kib("VmHWM" if self._peak_counter else "VmRSS")
        self.growth_mib = max(0, after - self.before_kib) / 1024
