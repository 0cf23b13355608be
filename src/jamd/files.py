"""Files that appear only when complete.

Outputs are written to a hidden file beside their target and renamed over it at the end, so a
failed or interrupted write never leaves a partial file under the requested name.
"""

import os
import secrets
from pathlib import Path


def new_file_beside(path: Path) -> Path:
    """A new, empty hidden file next to ``path``, created with the usual permissions (the
    process umask applies, unlike ``tempfile.mkstemp``'s 0600: a rendered song is for sharing)."""
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate
