"""lava-dl 0.6's netx imports through the project's own import path (``hw_sim.backends.lava.compat``), in a fresh
interpreter, without cv2 or torchvision and without any edit of site-packages."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_netx_imports_through_the_project_hook() -> None:
    r = _run("""
        import importlib.util, sys
        import spikinghash.hw_sim.backends.lava  # installs the hook
        from lava.lib.dl import netx
        import lava.lib.dl.slayer as slayer
        assert netx.hdf5.Network.__name__ == "Network"
        assert importlib.util.find_spec("cv2") is None and "torchvision" not in sys.modules
        try:
            slayer.obd.YOLOBase
        except AttributeError as err:
            print("stub:", err)
        """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "stub: lava.lib.dl.slayer.object_detection.YOLOBase is unavailable" in r.stdout
    assert "cv2 and torchvision" in r.stdout


def test_without_the_stub_netx_does_not_import() -> None:
    """The stub is what makes the import work: taken out of the hook, slayer's object detection needs cv2."""
    r = _run("""
        from spikinghash.hw_sim.backends.lava import compat as lava_compat
        lava_compat.STUBS.clear()
        import lava.lib.dl.netx
        """)
    assert r.returncode != 0
    assert "No module named 'cv2'" in r.stderr
