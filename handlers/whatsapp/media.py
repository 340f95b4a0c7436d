"""Attachments on disk, content-addressed: the file name is the SHA-256 of the bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from handlers.whatsapp.client import MAX_MEDIA_BYTES, MediaError

# Sniffed from the bytes: a sender's Content-Type is a claim, not a fact.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def sniff(data: bytes) -> str | None:
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    return None


@dataclass(frozen=True)
class StoredMedia:
    sha256: str
    mimetype: str
    size: int
    path: Path


def store(media_dir: str | os.PathLike[str], data: bytes) -> StoredMedia:
    """Check and store; a second copy of the same bytes is not written again."""
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaError("the file is larger than 10 MB")
    if not data:
        raise MediaError("the file is empty")
    mime = sniff(data)
    if mime is None:
        raise MediaError("only photos (JPEG, PNG, WebP, HEIC) and PDF documents are accepted")
    digest = hashlib.sha256(data).hexdigest()
    root = Path(media_dir)
    target = root / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a half file under the final name.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return StoredMedia(digest, mime, len(data), target)


def path_of(media_dir: str | os.PathLike[str], sha256: str) -> Path:
    return Path(media_dir) / sha256[:2] / sha256
