"""Reading uploaded files into articles: JSON, CSV, Markdown (one file or a .zip), HTML.

`parse_upload(name, stream, ...)` returns what was found, in file order: a RawArticle for
each article to validate, a Rejection for each piece that could not be read. A file that
cannot be read at all raises MalformedUpload (422); limits raise UploadTooLarge (413).
"""

import zipfile
import zlib
from pathlib import PurePosixPath
from typing import BinaryIO

from app.kb.importers import csv_format, html_format, json_format, markdown_format
from app.kb.importers.base import MalformedUpload, Parsed, RawArticle, UploadTooLarge
from app.kb.schemas import Rejection

__all__ = ["SUFFIXES", "MalformedUpload", "Parsed", "RawArticle", "UploadTooLarge", "parse_upload"]

PARSERS = {
    ".json": json_format.parse,
    ".csv": csv_format.parse,
    ".md": markdown_format.parse,
    ".markdown": markdown_format.parse,
    ".html": html_format.parse,
    ".htm": html_format.parse,
}
SUFFIXES = (*PARSERS, ".zip")
MAX_ENTRY_BYTES = 5 * 1024 * 1024  # one file inside a zip, uncompressed
MAX_UNCOMPRESSED_FACTOR = 4  # a zip may unpack to at most 4 x the upload limit


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedUpload(name, f"not UTF-8 text (byte {exc.start})") from exc


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _parse_zip(name: str, stream: BinaryIO, *, max_rows: int, max_bytes: int) -> list[Parsed]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise MalformedUpload(name, f"not a valid zip archive ({exc})") from exc
    with archive:
        entries = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not PurePosixPath(info.filename).name.startswith(".")
            and not info.filename.startswith("__MACOSX/")
        ]
        if len(entries) > max_rows:
            raise UploadTooLarge(
                f"{name} holds {len(entries)} files; an upload may hold {max_rows} articles."
            )
        budget = max_bytes * MAX_UNCOMPRESSED_FACTOR
        declared = sum(info.file_size for info in entries)
        if declared > budget:
            raise UploadTooLarge(
                f"{name} unpacks to {declared} bytes; the limit is {budget} bytes."
            )
        parsed: list[Parsed] = []
        for info in entries:
            entry = f"{name}/{info.filename}"
            parser = PARSERS.get(_suffix(info.filename))
            if parser is None:
                parsed.append(Rejection(file=entry, reason="unsupported file type"))
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(MAX_ENTRY_BYTES + 1)  # sizes in the header can lie
            except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, ValueError) as exc:
                parsed.append(Rejection(file=entry, reason=f"cannot be unpacked: {exc}"))
                continue
            budget -= len(data)
            if len(data) > MAX_ENTRY_BYTES or budget < 0:
                raise UploadTooLarge(f"{entry} unpacks to more than the limit allows.")
            try:
                parsed.extend(parser(entry, _decode(entry, data)))
            except MalformedUpload as exc:
                parsed.append(Rejection(file=entry, reason=exc.detail.split(": ", 1)[-1]))
    return parsed


def parse_upload(name: str, stream: BinaryIO, *, max_rows: int, max_bytes: int) -> list[Parsed]:
    suffix = _suffix(name)
    if suffix == ".zip":
        parsed = _parse_zip(name, stream, max_rows=max_rows, max_bytes=max_bytes)
    elif suffix in PARSERS:
        parsed = PARSERS[suffix](name, _decode(name, stream.read()))
    else:
        raise MalformedUpload(
            name, f"unsupported file type {suffix or '(none)'}; use {', '.join(SUFFIXES)}"
        )
    if len(parsed) > max_rows:
        raise UploadTooLarge(
            f"{name} holds {len(parsed)} rows; an upload may hold {max_rows}.",
        )
    return parsed
