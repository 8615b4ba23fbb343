# Red Butler: one image for the hub and the gateway (docs/deploy.md).
#   docker build -t red-butler .
#   docker run red-butler hub            # or: gateway --config FILE, simulate ..., hub gateway add ...
# Stage 1 builds with the dev dependencies; stage 2 keeps only production dependencies and dist/.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here. better-sqlite3's native
# module is then built (or its prebuilt binary fetched) explicitly; bookworm has python3/make/g++.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RB_HOST=0.0.0.0 \
    RB_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# HTTP (API, pages, Socket.IO, /healthz, /metrics) and MQTT; the gateway's device push listener is 8091.
EXPOSE 8080 1883 8091
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RB_HTTP_PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/red-butler.js"]
CMD ["hub"]
