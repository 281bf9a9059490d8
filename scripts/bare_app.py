"""The yardstick for scripts/bench_load.py: a bare FastAPI app with one JSON endpoint.

It reads the same request body as `POST /v1/chat` (validated by a small pydantic model) and
answers a small JSON object, with no middleware, no database and no matching, so the ratio
chat / bare says how much of the machine the bot's own work takes.

    .venv/bin/python -m uvicorn scripts.bare_app:app --workers 2
"""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class User(BaseModel):
    id: str


class Message(BaseModel):
    channel: str = "web"
    user: User
    text: str
    conversation_id: str | None = None


@app.post("/echo")
async def echo(message: Message) -> dict[str, str | int]:
    return {"status": "ok", "user": message.user.id, "chars": len(message.text)}
