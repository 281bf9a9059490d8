"""Reading a multipart upload as it streams in, into spooled temporary files, stopping at the
size limit instead of after it (the JSON body limit in app.main does not apply to /import)."""

from dataclasses import dataclass
from tempfile import SpooledTemporaryFile

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import InvalidInput
from app.kb.importers import UploadTooLarge

SPOOL_BYTES = 1024 * 1024  # kept in memory up to this size, then on disk
FORM_OVERHEAD = 1024 * 1024  # part headers and boundaries on top of the files themselves


@dataclass
class UploadedFile:
    name: str
    file: SpooledTemporaryFile[bytes]


class _Collector:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.files: list[UploadedFile] = []
        self.total = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._current: UploadedFile | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_part,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._current = None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        filename = options.get(b"filename")
        if filename:
            name = filename.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
            spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 closed by close_all
            self._current = UploadedFile(name, spool)
            self.files.append(self._current)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is None:
            return  # a plain form field: nothing we need
        self.total += end - start
        if self.total > self.max_bytes:
            raise UploadTooLarge(f"The upload exceeds the limit of {self.max_bytes} bytes.")
        self._current.file.write(data[start:end])


async def read_files(request: Request, *, max_bytes: int) -> list[UploadedFile]:
    """The files of a multipart/form-data request, each rewound; 413 past `max_bytes`."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
        raise UploadTooLarge(f"The upload exceeds the limit of {max_bytes} bytes.")
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInput("Send the files as multipart/form-data, in a field named 'file'.")
    collector = _Collector(max_bytes)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + FORM_OVERHEAD:
                raise UploadTooLarge(f"The upload exceeds the limit of {max_bytes} bytes.")
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        close_all(collector.files)
        raise InvalidInput(f"The multipart body cannot be read: {exc}") from exc
    except BaseException:
        close_all(collector.files)
        raise
    if not collector.files:
        raise InvalidInput("The upload holds no file; send one in a field named 'file'.")
    for uploaded in collector.files:
        uploaded.file.seek(0)
    return collector.files


def close_all(files: list[UploadedFile]) -> None:
    for uploaded in files:
        uploaded.file.close()
