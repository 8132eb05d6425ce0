# customer-relations in a container (README, "Deploy it").
#
#   docker build -t customer-relations .
#   docker run -p 8080:8080 -v crm-data:/data customer-relations serve --demo
#
# The binary is linked statically (glibc's crt-static; SQLite, libpq and
# OpenSSL are built from source), so the runtime image needs nothing of the
# build's; Debian's slim image gives it a resolver (glibc's NSS) for the
# host names of a PostgreSQL URL, and CA certificates.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential perl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && cp target/x86_64-unknown-linux-gnu/release/customer-relations /customer-relations

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin customer-relations \
 && mkdir -p /data \
 && chown customer-relations /data
COPY --from=build /customer-relations /usr/local/bin/customer-relations
USER customer-relations
WORKDIR /data
VOLUME ["/data"]
ENV CR_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/customer-relations.db \
    CR_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["customer-relations", "probe", "--url", "http://127.0.0.1:8080/health/ready", "--timeout-secs", "2"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["customer-relations"]
CMD ["serve"]
