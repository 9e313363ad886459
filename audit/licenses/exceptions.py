"""SPDX `WITH` exceptions: which ones mlaudit accepts as deciding nothing against the user.

An exception changes the license it is attached to. The ones listed here only *add* permissions (linking,
runtime, font embedding...), so `X WITH e` grants at least what X grants. Any other exception, unknown or one
that restricts use (non-commercial, research-only, a "Commons Clause"), leaves the license undecided: mlaudit
cannot know what it takes away, so it fails closed and a human reads it.
"""
from __future__ import annotations

# SPDX exception ids (lower-cased) that grant additional permissions only
ADDITIONAL_PERMISSIONS = frozenset(s.lower() for s in (
    "389-exception", "Autoconf-exception-2.0", "Autoconf-exception-3.0", "Bison-exception-2.2",
    "Bootloader-exception", "Classpath-exception-2.0", "CLISP-exception-2.0", "eCos-exception-2.0",
    "Font-exception-2.0", "freertos-exception-2.0", "GCC-exception-2.0", "GCC-exception-3.1",
    "gnu-javamail-exception", "GPL-3.0-linking-exception", "GPL-3.0-linking-source-exception",
    "GPL-CC-1.0", "i2p-gpl-java-exception", "Libtool-exception", "Linux-syscall-note", "LLVM-exception",
    "LZMA-exception", "mif-exception", "OCaml-LGPL-linking-exception", "OCCT-exception-1.0",
    "OpenJDK-assembly-exception-1.0", "openvpn-openssl-exception", "PS-or-PDF-font-exception-20170817",
    "Qt-GPL-exception-1.0", "Qt-LGPL-exception-1.1", "Qwt-exception-1.0", "Swift-exception",
    "u-boot-exception-2.0", "Universal-FOSS-exception-1.0", "WxWindows-exception-3.1",
))


def exception_problem(exception: str) -> str | None:
    """None when the exception only adds permissions; otherwise why it leaves the license undecided."""
    if exception.strip().lower() in ADDITIONAL_PERMISSIONS:
        return None
    return f"the exception {exception!r} is not one mlaudit knows to only add permissions"
