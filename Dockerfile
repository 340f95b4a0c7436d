# ticketbot: one process serves Slack, WhatsApp, REST, the scheduler and the delivery worker.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY domain ./domain
COPY storage ./storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TICKETBOT_HOST=0.0.0.0 \
    TICKETBOT_PORT=8080 \
    TICKETBOT_MEDIA_DIR=/data/media \
    TICKETBOT_DATABASE_URL=sqlite+aiosqlite:////data/ticketbot.db
RUN useradd --create-home --uid 10001 ticketbot && mkdir -p /data/media && chown -R ticketbot /data
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER ticketbot
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["ticketbot", "serve"]
