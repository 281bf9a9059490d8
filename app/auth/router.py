"""Token administration (admin only). The plain token is returned once, at creation."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.auth import service
from app.dependencies import AdminDep, RowId, SessionDep
from app.openapi import problems

router = APIRouter(prefix="/v1/tokens", tags=["auth"], responses=problems(401, 403))


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(admin|editor|operator)$")


class TokenOut(BaseModel):
    id: int
    name: str
    role: str
    revoked: bool
    token: str | None = None


@router.post("", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, session: SessionDep, _: AdminDep) -> TokenOut:
    row, plain = service.create_token(session=session, name=body.name, role=body.role)
    return TokenOut(id=row.id, name=row.name, role=row.role, revoked=False, token=plain)


@router.get("", response_model=list[TokenOut], response_model_exclude_none=True)
def list_tokens(session: SessionDep, _: AdminDep) -> list[TokenOut]:
    return [
        TokenOut(id=r.id, name=r.name, role=r.role, revoked=r.revoked_at is not None)
        for r in service.list_tokens(session=session)
    ]


@router.delete(
    "/{token_id}",
    response_model=TokenOut,
    response_model_exclude_none=True,
    responses=problems(404),
)
def revoke_token(token_id: RowId, session: SessionDep, _: AdminDep) -> TokenOut:
    row = service.revoke_token(session=session, token_id=token_id)
    return TokenOut(id=row.id, name=row.name, role=row.role, revoked=True)
