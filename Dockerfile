# syntax=docker/dockerfile:1
# usmca-bot image: a release build of the daemon, the ONNX Runtime library taken from the
# onnxruntime wheel on PyPI, and the bundled default model.

ARG RUST_VERSION=1.85
ARG ORT_VERSION=1.31.1

# --- build: dependencies first, so they stay cached while the sources change -------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && for b in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | tail -n +3); do echo 'fn main() {}' > "benches/$b.rs"; done \
    && cargo build --release --locked --bin usmca-bot || true
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin usmca-bot

# --- ONNX Runtime shared library from the PyPI wheel (no prebuilt-binary downloads elsewhere) ----
FROM python:3.11-slim-bookworm AS onnxruntime
ARG ORT_VERSION
COPY scripts/setup-onnxruntime.sh /tmp/setup-onnxruntime.sh
RUN ORT_VERSION=${ORT_VERSION} DEST=/ort bash /tmp/setup-onnxruntime.sh

# --- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /opt/usmca-bot usmca
WORKDIR /opt/usmca-bot
COPY --from=build /src/target/release/usmca-bot /usr/local/bin/usmca-bot
COPY --from=onnxruntime /ort/ /usr/local/lib/usmca-bot/
COPY config/default.toml config/default.toml
COPY models/toxblock-lstm models/toxblock-lstm
USER usmca
ENV USMCA_MODEL__DIR=/opt/usmca-bot/models/toxblock-lstm \
    USMCA_LOG__FORMAT=json
EXPOSE 8080
ENTRYPOINT ["usmca-bot"]
CMD ["run"]
