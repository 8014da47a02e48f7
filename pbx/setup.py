"""pbxd's build. By default a pure-Python wheel, the one the rollout installs on Windows.

With ``PBXD_COMPILE=1`` the modules every SIP message passes through are also compiled to C
extensions by mypyc, from the same source, for about a quarter less CPU per message (the
figures are in pbx/README.md, "Compiled build"). The ``.py`` files stay in the wheel. It needs
mypy, setuptools and a C compiler where the wheel is built, so build it without isolation:

    PBXD_COMPILE=1 pip wheel --no-build-isolation --no-deps -w dist ./pbx

Left out: the database, whose statements run in SQLite, and the command line, configuration,
service and worker code, which run once or only with ``sip.workers``. Compiled code keeps
the behaviour, not always the memory: a remembered nonce costs about 100 bytes instead of 70
(mypyc boxes its int key once for the table and again for the order it was used in).
"""

import os

from setuptools import Extension, setup

COMPILED = [
    "sip/message.py",
    "sip/uri.py",
    "sip/digest.py",
    "sip/transaction.py",
    "sip/dialog.py",
    "transport.py",
    "identity.py",
    "endpoint.py",
    "router.py",
    "proxy.py",
    "auth.py",
    "registrar.py",
    "throttle.py",
    "overload.py",
    "cdr.py",
    "routesign.py",
]


def _extensions() -> list[Extension]:
    setting = os.environ.get("PBXD_COMPILE", "0")
    if setting not in ("0", "1"):
        raise SystemExit(f"PBXD_COMPILE is {setting!r}: expected 1 (compile with mypyc) or 0 (pure Python)")
    if setting == "0":
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 (only a compiled build needs mypy)
    except ImportError:
        raise SystemExit(
            "PBXD_COMPILE=1 needs mypy (which brings mypyc) where the wheel is built: "
            "pip install mypy, then build with --no-build-isolation"
        ) from None
    # No mypy configuration: a project's (found by searching upwards) could name the modules
    # after a folder above pbx/, and the build must not depend on where pbx/ was copied.
    sources = [os.path.join("src", "pbxd", module) for module in COMPILED]
    return mypycify(["--config-file=", *sources], opt_level="3")


setup(ext_modules=_extensions())
