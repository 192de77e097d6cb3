# syntax=docker/dockerfile:1
# bounty-bot's production image: the app and its command line, nothing that only tests, the demo
# or the benchmarks run. test/deploy/dockerfile.test.ts checks these rules and proves that what
# the runtime stage copies is enough to start.

# Compile the production code only: tsconfig.image.json compiles src/ alone, without bench/ and dev/
# (the demo, the GitHub and smee stand-ins, the local chain), which .dockerignore keeps out of the build.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY src ./src
RUN npx tsc -p tsconfig.image.json
# The prebuilt embedded database (src/store/template.ts): a first start then fits a 512 MiB pod.
RUN node dist/src/store/template.js

# Production dependencies in a stage of their own, so no devDependency reaches the image. Optional
# ones are left out too: typescript (an optional peer of valibot, 23 MB) and pg-cloudflare (Workers only).
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim
ENV NODE_ENV=production DATA_DIR=/app/data PORT=3000
WORKDIR /app
COPY --chown=node:node --from=deps /app/node_modules ./node_modules
COPY --chown=node:node --from=build /app/dist/src ./dist/src
COPY --chown=node:node package.json app.yml ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
# Slim images have no curl: ask /healthz with node itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
