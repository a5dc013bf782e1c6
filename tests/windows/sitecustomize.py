"""Loaded first by the Windows CPython of scripts/test-windows.sh (this folder is on its
python311._pth); the Linux lane never imports it.

wine 8 lacks propsys.VariantToString, which CPython's _wmi needs; ``platform`` and keyring
reach _wmi and would fail. Without it ``platform`` falls back to the registry and ``ver``.
"""

import sys

sys.modules["_wmi"] = None  # type: ignore[assignment]
