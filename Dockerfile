# The image of the EKS Deployments (matcher, order worker, relay): one image, the entry point is
# chosen by the Deployment's command (`node --import tsx bin/<entry>`, see platform/processes.ts).
# Build and push: docker build -t <account>.dkr.ecr.<region>.amazonaws.com/order-lifecycle:<tag> .
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Runtime dependencies only: tsx runs the TypeScript sources; the worker bundles workflows at start.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY config ./config
COPY platform ./platform
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY connections ./connections
COPY matcher ./matcher
COPY relay ./relay
COPY orderWorker ./orderWorker
COPY gateway ./gateway
COPY bin ./bin
COPY tsconfig.json ./
USER 1000
CMD ["node", "--import", "tsx", "bin/matcher.ts"]
