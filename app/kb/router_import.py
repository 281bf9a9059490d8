"""POST /v1/articles/import: upload JSON, CSV, Markdown (or a .zip of it) or HTML files."""

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.service import Principal
from app.dependencies import EditorDep, SessionDep, SettingsDep
from app.kb import bulk, quality, service
from app.kb.importers import Parsed, UploadTooLarge, parse_upload
from app.kb.models import Article
from app.kb.responses import after_save_checks, commit_and_reindex, holder
from app.kb.schemas import ImportReport, QualityWarning
from app.kb.upload import FORM_OVERHEAD, UploadedFile, close_all, read_files
from app.openapi import problems
from app.settings import MAX_UPLOAD_BYTES, Settings

router = APIRouter()
# The body is read as it streams in (app/kb/upload.py), not by FastAPI, so the document would
# not show it: every part with a filename is a file, whatever its field is called.
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": ".json, .csv, .md, .html or a .zip of them",
                    }
                },
                "required": ["file"],
            }
        }
    },
}


@router.post(
    "/articles/import",
    # Past the app's JSON limit: read_files() holds the upload to the configured limit as it
    # streams in; the framework's own counter only guards the largest one allowed.
    max_body_size=MAX_UPLOAD_BYTES + FORM_OVERHEAD,
    response_model=ImportReport,
    responses=problems(413),
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def import_articles(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
    atomic: bool = Query(default=False, description="all or nothing"),
) -> ImportReport:
    files = await read_files(request, max_bytes=settings.kb_max_upload_bytes)
    try:
        return await run_in_threadpool(
            _import, request, session, settings, principal, files, atomic
        )
    finally:
        close_all(files)


def _import(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    files: list[UploadedFile],
    atomic: bool,
) -> ImportReport:
    parsed: list[Parsed] = []
    for uploaded in files:
        parsed += parse_upload(
            uploaded.name,
            uploaded.file,  # type: ignore[arg-type]
            max_rows=settings.kb_max_import_rows,
            max_bytes=settings.kb_max_upload_bytes,
        )
        if len(parsed) > settings.kb_max_import_rows:
            raise UploadTooLarge(f"The upload holds more than {settings.kb_max_import_rows} rows.")
    before = holder(request).index
    report = bulk.import_articles(
        session=session,
        parsed=parsed,
        author=principal.name,
        atomic=atomic,
        default_language=settings.default_language,
        source="import",
    )
    changed = report.created_ids + report.updated_ids
    warnings: list[QualityWarning] = []
    if len(changed) <= settings.kb_import_check_limit:
        warnings += quality.near_duplicates(
            session=session, article_ids=changed, threshold=settings.kb_duplicate_threshold
        )
    else:
        warnings.append(
            QualityWarning(
                kind="checks_skipped",
                message=f"{len(changed)} articles changed; the near-duplicate check runs for "
                f"imports of up to {settings.kb_import_check_limit}.",
            )
        )
    report.kb_version = service.current_version(session=session)
    ready = commit_and_reindex(request, session, settings)
    if changed:
        articles = [
            a
            for a in (session.get(Article, i) for i in changed[: quality.MAX_COLLISION_ARTICLES])
            if a is not None
        ]
        warnings += after_save_checks(
            request=request,
            session=session,
            settings=settings,
            articles=articles,
            before=before,
            index_ready=ready,
        )
    report.warnings = warnings
    return report
