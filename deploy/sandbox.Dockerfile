# The LAC sandbox image, for the Compose demo profile only (never for production). Build from
# the repository root:  docker build -f deploy/sandbox.Dockerfile -t lac-sandbox .
# The gateway image (deploy/Dockerfile) carries the gateway alone; the sandbox lives in the
# repository's lacsandbox package, which this image adds beside an installed gateway.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:${PATH}
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY gateway ./gateway
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --prefer-binary --no-compile -c constraints.txt .
# The sandbox reads the code table and WSDLs from gateway/data and its seed from config/.
COPY lacsandbox ./lacsandbox
COPY config/sandbox.toml ./config/sandbox.toml
RUN groupadd --gid 10001 lacgw \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin lacgw
USER 10001:10001
EXPOSE 8090
STOPSIGNAL SIGTERM
# From /app, `python -m` finds lacsandbox beside the installed gateway.
ENTRYPOINT ["python3", "-m", "gateway"]
CMD ["sandbox", "--host", "0.0.0.0", "--port", "8090"]
