"""MkDocs hook: links from a page to repository files outside docs/ point at the repository.

The pages link to source files relatively (``../src/residency_audit/report/report-schema.json``),
which works when reading them in the repository. On the built site such a file does not exist,
so this hook rewrites a relative link that leaves ``docs/`` and names an existing file to the
same file under ``repo_url``. A link to a file that does not exist is left alone, so that
``mkdocs build --strict`` still fails on it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
_BRANCH = "main"


def repository_link(target: str, *, page_dir: Path, docs_dir: Path, repo_url: str) -> str | None:
    """The repository URL for ``target`` when it leaves ``docs_dir`` and names an existing file.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "docs").mkdir(); (root / "LICENSE").touch()
    >>> repository_link("../LICENSE", page_dir=root / "docs", docs_dir=root / "docs",
    ...                 repo_url="https://example.org/r")
    'https://example.org/r/blob/main/LICENSE'
    >>> repository_link("policy.md", page_dir=root / "docs", docs_dir=root / "docs",
    ...                 repo_url="https://example.org/r") is None
    True
    """
    if "://" in target or target.startswith(("/", "mailto:")):
        return None
    path = (page_dir / target).resolve()
    docs = docs_dir.resolve()
    root = docs.parent
    if path.is_relative_to(docs) or not path.is_relative_to(root) or not path.exists():
        return None
    return f"{repo_url.rstrip('/')}/blob/{_BRANCH}/{path.relative_to(root).as_posix()}"


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    docs_dir = Path(config["docs_dir"])
    page_dir = (docs_dir / page.file.src_path).parent
    repo_url = str(config.get("repo_url") or "")
    if not repo_url:
        return markdown

    def replace(m: re.Match[str]) -> str:
        url = repository_link(m["target"], page_dir=page_dir, docs_dir=docs_dir, repo_url=repo_url)
        return m[0] if url is None else f"]({url}{m['anchor'] or ''})"

    return _LINK.sub(replace, markdown)
