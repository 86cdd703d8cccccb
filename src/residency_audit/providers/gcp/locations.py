"""GCP location codes, spelled as the catalog spells them. Pure functions.

Regions and zones are lower-case (``europe-north1``); multi- and dual-regions are upper-case
(``EU``, ``EUR4``); a service's own location codes (Spanner instance configurations such as
``eur3``, Firestore multi-regions such as ``nam5``) stay lower-case: the graph looks them up
with the resource's ``service`` (``spanner``), which finds the catalog's row for that service.

>>> gcp_location("EUROPE-NORTH1"), gcp_location("eu"), gcp_location("eur4")
('gcp:europe-north1', 'gcp:EU', 'gcp:EUR4')
>>> zone_region("europe-north1-a")
'europe-north1'
"""

from __future__ import annotations

import functools
import re

__all__ = ["gcp_location", "is_zone", "normalize_code", "zone_region"]

_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


def is_zone(code: str) -> bool:
    """True for a zone code such as ``europe-north1-a``."""
    return bool(_ZONE.match(code.strip().lower()))


def zone_region(code: str) -> str:
    """The region of a zone (``europe-north1-a`` → ``europe-north1``); a region stays itself."""
    c = code.strip().lower()
    m = _ZONE.match(c)
    return m.group(1) if m else c


def normalize_code(code: str) -> str:
    """A region's code in lower case, a multi-/dual-region's (no hyphen) in upper case.

    >>> normalize_code("US"), normalize_code("us-central1"), normalize_code("asia1")
    ('US', 'us-central1', 'ASIA1')
    """
    c = code.strip()
    return c.lower() if "-" in c else c.upper()


@functools.lru_cache(maxsize=4096)
def gcp_location(code: str, *, service_code: bool = False) -> str:
    """The placement location for ``code``; ``service_code`` for a service's own code space.
    (A few codes recur over every resource: each is worked out once.)

    >>> gcp_location("eur3", service_code=True)
    'gcp:eur3'
    """
    if service_code:
        return f"gcp:{code.strip().lower()}"
    return f"gcp:{normalize_code(zone_region(code))}"
