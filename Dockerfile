# Drawbridge container image: build with the Swift toolchain, run on a slim Debian as a non-root user.
#   docker build -t drawbridge .
#   docker run --rm -p 8443:8443 -v $PWD/config:/etc/drawbridge:ro drawbridge
# The configuration (gateway.yaml, certificates, keys, policies) is mounted at /etc/drawbridge.
# Its operations listener must listen on 0.0.0.0 inside the container for probes from outside it
# (operations: { address: 0.0.0.0, port: 9464 }); the HEALTHCHECK below probes it on loopback.

FROM swift:6.3-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY . .
# scripts/build-release.sh links the Swift runtime and Foundation in (the runtime image needs no Swift
# toolchain), turns exclusivity checks off and orders functions by bench/drawbridge.order.
RUN scripts/build-release.sh \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/drawbridge" /out/drawbridge

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin drawbridge
COPY --from=build /out/drawbridge /usr/local/bin/drawbridge
USER 10001:10001
WORKDIR /etc/drawbridge
EXPOSE 8443 9464
# /healthz on the operations listener, without adding an HTTP client to the image.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# SIGTERM drains (readiness turns 503 at once); SIGHUP reloads the configuration.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/drawbridge"]
CMD ["serve", "--config", "/etc/drawbridge/gateway.yaml"]
