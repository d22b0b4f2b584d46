# syntax=docker/dockerfile:1
# usmca-bot image: a release build of the daemon, the ONNX Runtime library taken from the
# onnxruntime wheel on PyPI, and one model.
#
#   docker build -t usmca-bot .                                  # bundled toxblock-lstm model
#   docker build --build-arg MODEL=detoxify -t usmca-bot:detoxify .
#   docker build --build-arg MODEL=detoxify --build-arg DETOXIFY_VARIANT=unbiased \
#                --build-arg DETOXIFY_QUANTIZE=1 -t usmca-bot:unbiased-int8 .
#
# Needs BuildKit (the default builder since Docker 23): it builds only the model stage MODEL names.

# At least the newest rust-version among the dependencies (ort 2.0.0-rc.15 needs 1.92).
ARG RUST_VERSION=1.95
ARG ORT_VERSION=1.31.1
# toxblock-lstm (bundled, no download) or detoxify (exported from PyTorch at build time).
ARG MODEL=toxblock-lstm

# --- build: dependencies first, so they stay cached while the sources change -------------------
# The full image: C toolchain for ring and onig_sys. Same Debian release as the runtime (glibc).
FROM rust:${RUST_VERSION}-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# Query macros (if any) read the prepared .sqlx/ data instead of a live database.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
COPY Cargo.toml Cargo.lock ./
COPY deploy/docker/stub-targets.sh /usr/local/bin/stub-targets
# Empty files for every target Cargo.toml declares (benches included), so this layer compiles
# only the dependencies; it is rebuilt only when Cargo.toml or Cargo.lock change.
RUN sh /usr/local/bin/stub-targets . && cargo build --release --locked --bin usmca-bot
COPY . .
# COPY keeps the sources' modification times, which can be older than the stub build: touch them
# so cargo rebuilds the crate itself instead of keeping the empty stub binary.
RUN find src -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bin usmca-bot \
    && target/release/usmca-bot --version | grep -q '^usmca-bot '

# --- ONNX Runtime shared library from the PyPI wheel --------------------------------------------
FROM python:3.11-slim-bookworm AS onnxruntime
ARG ORT_VERSION
COPY scripts/setup-onnxruntime.sh /tmp/setup-onnxruntime.sh
RUN ORT_VERSION=${ORT_VERSION} DEST=/ort bash /tmp/setup-onnxruntime.sh \
    && rm -f /ort/.installed

# --- model: the bundled default ----------------------------------------------------------------
FROM scratch AS model-toxblock-lstm
COPY models/toxblock-lstm/ /model/

# --- model: a Detoxify checkpoint exported to ONNX (internet needed while building) -------------
FROM python:3.11-slim-bookworm AS model-detoxify
ARG ORT_VERSION
ARG DETOXIFY_VARIANT=original
# Any non-empty value: int8 dynamic quantization (smaller and faster on CPU; evaluate it first).
ARG DETOXIFY_QUANTIZE=
# CPU-only PyTorch, pinned: Detoxify's checkpoints load with torch < 2.6 (weights_only default),
# and the TorchScript ONNX exporter the script relies on is the default there.
RUN python3 -m pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.5.1 \
    && python3 -m pip install --no-cache-dir detoxify==0.5.2 transformers==4.46.3 onnx==1.17.0 \
       "onnxruntime==${ORT_VERSION}" sentencepiece==0.2.0
COPY scripts/export-detoxify.py /tmp/export-detoxify.py
RUN python3 /tmp/export-detoxify.py --variant "${DETOXIFY_VARIANT}" --out /model \
       ${DETOXIFY_QUANTIZE:+--quantize}

# Picks one of the two stages above; BuildKit skips the other.
# hadolint ignore=DL3006
FROM model-${MODEL} AS model

# --- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
ARG MODEL
# Unpinned on purpose: the security updates of the Debian release the base image pins.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 usmca \
    && useradd --system --uid 10001 --gid 10001 --home-dir /opt/usmca-bot --shell /usr/sbin/nologin usmca \
    && mkdir -p /var/lib/usmca-bot/journal \
    && chown -R 10001:10001 /var/lib/usmca-bot
WORKDIR /opt/usmca-bot
COPY --from=build /src/target/release/usmca-bot /usr/local/bin/usmca-bot
# The binary searches /usr/local/lib/usmca-bot/ for libonnxruntime.so (src/classifier/runtime.rs).
COPY --from=onnxruntime /ort/ /usr/local/lib/usmca-bot/
COPY config/default.toml config/default.toml
COPY --from=model /model/ models/${MODEL}/
# The sample exports, to try scan without any export of your own:
#   docker compose run --rm bot scan examples/server-export
# and your own (DiscordChatExporter JSON, files or folders):
#   docker compose run --rm -v ./exports:/data bot scan /data
COPY examples/README.md examples/davidson-conversation.json examples/
COPY examples/server-export/ examples/server-export/
USER 10001:10001
ENV USMCA_MODEL__DIR=/opt/usmca-bot/models/${MODEL} \
    USMCA_HTTP__ADDR=0.0.0.0:8080 \
    USMCA_STORAGE__JOURNAL_DIR=/var/lib/usmca-bot/journal \
    USMCA_LOG__FORMAT=json
# Smoke test as the runtime user: binary, ONNX Runtime library and model load together.
RUN usmca-bot classify "the image can load its model" >/dev/null
EXPOSE 8080 8081
# Actions recorded while Postgres is down wait here until they are replayed into it.
VOLUME ["/var/lib/usmca-bot/journal"]
# Liveness only; /readyz (Postgres, Redis, gateway, model) is for load balancers and alerts.
# Change the port here too if USMCA_HTTP__ADDR moves the listener.
# hadolint ignore=DL3025
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS --max-time 4 http://127.0.0.1:8080/healthz >/dev/null || exit 1
# SIGTERM starts the graceful shutdown (shutdown.deadline, 20 s by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["usmca-bot"]
CMD ["run"]
