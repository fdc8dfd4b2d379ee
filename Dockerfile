# mirnet on Node 24 (Debian slim). Build: docker build -t mirnet:0.1.0 .
# Without a registry to pull node:24-slim from, `npm run image` builds the same
# layout FROM scratch with buildah (see docs/operations.md: Container image).
# Paths, user and ports match src/deploy/constants.ts (test/image.test.ts checks).

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; no install scripts are needed at run time
RUN npm install --omit=dev --no-audit --no-fund --ignore-scripts \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -delete

FROM node:24-slim
RUN groupadd --system --gid 10001 mirnet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mirnet --shell /usr/sbin/nologin mirnet \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/mirnet
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY gen/ts ./gen/ts
# `mirnet` on PATH: bin/mirnet.ts runs under Node's type stripping
RUN ln -s /app/bin/mirnet.ts /usr/local/bin/mirnet
ENV NODE_ENV=production MIRNET_STATE_DIR=/var/lib/mirnet MIRNET_LISTEN=/ip4/0.0.0.0/tcp/4001
USER 10001:10001
# to the other members 4001: libp2p (TCP), 4002: TLS, 4003: gRPC (each when
# --transport and --listen ask for it, docs/transports.md); 7070: the API (gRPC,
# Connect, gRPC-Web, grpc.health.v1); 9464: Prometheus metrics, when --metrics asks for them
EXPOSE 4001/tcp 4002/tcp 4003/tcp 7070/tcp 9464/tcp
# `serve` re-executes itself with its heap defaults (docs/configuration.md:
# Memory settings of `mirnet serve`); NODE_OPTIONS or MALLOC_ARENA_MAX set at `docker run` still win
ENTRYPOINT ["mirnet", "serve"]
