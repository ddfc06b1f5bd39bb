# The image of the EKS Deployments (matcher, order worker, relay): one image, the entry point is
# chosen by the Deployment's command (`node --import tsx <entry>`, see infra/workloads.ts).
# Build and push: docker build -t <account>.dkr.ecr.<region>.amazonaws.com/order-lifecycle:<tag> .
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Runtime dependencies only: tsx runs the TypeScript sources; the worker bundles workflows at start.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY config ./config
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY matcher ./matcher
COPY workers ./workers
COPY gateway ./gateway
COPY tsconfig.json ./
USER 1000
CMD ["node", "--import", "tsx", "matcher/service.ts"]
