"""A license_link URL -> the catalog key it names, offline.

Three ways, tried in order: the catalog's own link patterns (a license's canonical pages), a file of a Hub
repo the offline registry knows (`huggingface.co/microsoft/phi-2/resolve/main/LICENSE` names phi-2's
license), and a license directory's page for one license (`choosealicense.com/licenses/apache-2.0/`). None
when the link names nothing mlaudit can check without fetching it: the caller fails closed on that.
"""
from __future__ import annotations

import re

from audit.licenses.catalog import catalog


def link_key(link: str) -> str | None:
    """The catalog key a license URL names, or None."""
    return catalog().by_link(link) or _hub_file_license(link) or _directory_license(link)


_HUB_FILE = re.compile(r"^(?:https?://)?(?:www\.)?huggingface\.co/([\w.-]+/[\w.-]+)/(?:blob|resolve|raw)/[^/]+/(.+)$",
                       re.IGNORECASE)


_DIRECTORY = re.compile(r"^(?:https?://)?(?:www\.)?(?:choosealicense\.com|opensource\.org|spdx\.org)/licen[cs]es/"
                        r"([A-Za-z0-9.+-]+?)(?:\.html)?/?$", re.IGNORECASE)


def _directory_license(link: str) -> str | None:
    """A license directory's page for one license (choosealicense.com/licenses/apache-2.0/) -> its key."""
    m = _DIRECTORY.match(link.strip())
    return catalog().lookup(m.group(1)) if m else None


def _hub_file_license(link: str) -> str | None:
    """A link to a file of a Hub repo the offline registry knows -> that repo's license key."""
    m = _HUB_FILE.match(link.strip())
    if m is None:
        return None
    from audit.registry import load_registry

    entry = load_registry().model(m.group(1))
    return entry.key if entry is not None and entry.key and entry.key in catalog() else None


