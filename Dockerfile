# customer-relations in a container (README, "Deploy it").
#
#   docker build -t customer-relations .
#   docker run -p 8080:8080 -v crm-data:/data customer-relations serve --demo
#
# The binary is linked statically against musl (SQLite, libpq and OpenSSL
# are built from source; mimalloc replaces musl's slow allocator), so the
# runtime image needs nothing of the build's. glibc's static linking was
# tried and refused: resolving a host name loads glibc's NSS modules at run
# time, which crashed the static binary. Debian's slim image gives the
# runtime CA certificates and a shell for debugging.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools perl make \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/customer-relations /customer-relations

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
