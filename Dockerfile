FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ANSWERDESK_DATABASE_URL=sqlite:////var/lib/answerdesk/answerdesk.db

WORKDIR /srv/answerdesk
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir .
COPY alembic.ini ./
COPY migrations ./migrations
COPY kb ./kb
COPY intents ./intents

RUN useradd --system --uid 10001 answerdesk \
    && mkdir -p /var/lib/answerdesk && chown answerdesk /var/lib/answerdesk
USER answerdesk

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# An operator console's event stream never ends by itself: without a grace limit a restart would
# wait for every console to close (or for docker stop's SIGKILL, which drops in-flight requests).
# The streams' clients reconnect with Last-Event-ID and miss nothing.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--timeout-graceful-shutdown", "5"]
