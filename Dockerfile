# syntax=docker/dockerfile:1
# Inkwell in production. Node 24 runs the TypeScript sources as they are (type stripping): no build step.
# CI builds this file for real with podman and checks the image it makes: `npm run image`, docs/container.md.

# Stage 1: the production dependencies, exactly as the lock file pins them.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: argon2 and better-sqlite3 load the prebuilt binaries inside their packages, and
# better-sqlite3's implicit node-gyp step would need Python, which a slim image does not have.
# --omit=dev leaves out the `node` devDependency: the image's own Node 24 runs the app.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: what runs. No npm cache, no build tools, nothing of the tests.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:/data/inkwell.db
WORKDIR /app
# Owned by root, so the app cannot rewrite its own code; the only place it writes is /data.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY migrations ./migrations
COPY public ./public
COPY src ./src
COPY views ./views
RUN mkdir /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# No curl in a slim image: Node's own fetch asks /readyz, which answers within 2 s and is 503 when the
# database does not answer in time (or the instance is stopping), so a wedged instance turns unhealthy.
# Docker and compose only report that: they never restart an unhealthy container (moby/moby #28400).
# The proxy's own /readyz check (deploy/Caddyfile) or an orchestrator takes it out of rotation.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node itself, not npm or a shell, so SIGTERM reaches src/main.ts: it drains (/readyz 503 for
# DRAIN_SECONDS), stops taking connections, finishes requests and queued mail (10 s at most in all,
# 10.5 s hard limit) and exits 0. Give `docker stop`
# more than its default 10 s (`--stop-timeout 15`, compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "src/main.ts"]
