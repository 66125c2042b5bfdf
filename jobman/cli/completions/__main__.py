"""``python -m jobman.cli.completions [--check] [DIR]``: regenerate the checked-in scripts.

Writes jobman.bash, _jobman and jobman.fish into DIR (default ./completions); with --check,
writes nothing and exits 1 if any of them differs from what the app generates now.
"""

from __future__ import annotations

import sys
from pathlib import Path


def write_scripts(folder: Path, check: bool = False) -> list[str]:
    """Write the three scripts into ``folder`` (or, with ``check``, list those that differ)."""
    from jobman.cli import app as full_app
    from jobman.cli.completions.scripts import FILE_NAMES, render_script

    stale = []
    for shell, name in FILE_NAMES.items():
        path, text = folder / name, render_script(shell, full_app)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(str(path))
        if not check:
            path.write_text(text)
    return stale


def main(argv: list[str]) -> int:
    """``python -m jobman.cli.completions [--check] [DIR]`` (DIR defaults to ./completions)."""
    check = "--check" in argv
    folders = [a for a in argv if a != "--check"]
    folder = Path(folders[0] if folders else "completions")
    folder.mkdir(parents=True, exist_ok=True)
    stale = write_scripts(folder, check)
    for path in stale:
        print(f"{'out of date' if check else 'wrote'}: {path}", file=sys.stderr)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
