# The letta-openwebui bridge server. Build from the repository root:
#   docker build -t letta-openwebui-bridge .
# The Bun version is the one package.json pins ("packageManager"); a test keeps them equal.
FROM oven/bun:1.4.5-slim AS install
WORKDIR /app
COPY . .
# Only what the server needs at run time (its workspace packages included), from the lockfile.
RUN bun install --frozen-lockfile --production --filter @letta-openwebui/server

FROM oven/bun:1.4.5-slim
WORKDIR /app
COPY --from=install /app/package.json /app/bun.lock ./
COPY --from=install /app/node_modules ./node_modules
COPY --from=install /app/packages/events ./packages/events
COPY --from=install /app/packages/letta-sim ./packages/letta-sim
COPY --from=install /app/apps/server ./apps/server
# Bun's fetch allows 256 concurrent connections unless told otherwise: one per streaming chat.
ENV BUN_CONFIG_MAX_HTTP_REQUESTS=65535 \
    PORT=8100 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
# Which Letta conversation each OpenWebUI chat is (threads.sqlite): keep it on a volume.
RUN mkdir -p /data && chown bun:bun /data
VOLUME /data
# The official image's unprivileged user.
USER bun
EXPOSE 8100
# /health answers 200 while the bridge runs (its body says whether Letta is reachable); the
# slim image has no curl, so Bun itself asks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:8100/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM stops the server (open streams end) and the process exits.
STOPSIGNAL SIGTERM
CMD ["bun", "--smol", "apps/server/src/index.ts"]
