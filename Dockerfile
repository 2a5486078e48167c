# filesfs in a container: an image whose entry point is `filesfs mount`.
#
#   docker build -t filesfs .
#   docker run --rm -it --device /dev/fuse --cap-add SYS_ADMIN \
#     --security-opt apparmor=unconfined \
#     -e FILES_API_KEY -e FILES_BASE_URL=https://example.files.com \
#     -v filesfs-cache:/cache \
#     filesfs /mnt/files
#
# The mount lives inside the container (share it with the host through a bind
# mount with `:rshared` propagation if you need it outside). The cache volume
# keeps pending uploads across container restarts.

FROM node:20-bookworm-slim AS build
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libfuse3-3 libfuse3-dev fuse3 pkg-config g++ make python3 patch ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/filesfs
COPY package.json package-lock.json ./
# npm ci runs the package's postinstall, which builds the patched binding from these.
COPY scripts ./scripts
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY . .
RUN scripts/setup && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libfuse3-3 fuse3 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/filesfs
COPY --from=build /opt/filesfs/package.json /opt/filesfs/package-lock.json ./
COPY --from=build /opt/filesfs/node_modules ./node_modules
COPY --from=build /opt/filesfs/dist ./dist
COPY --from=build /opt/filesfs/bin ./bin
COPY --from=build /opt/filesfs/native ./native
RUN ln -s /opt/filesfs/bin/filesfs.js /usr/local/bin/filesfs && mkdir -p /mnt/files /cache
ENV XDG_CACHE_HOME=/cache
# tini forwards SIGTERM to filesfs, which drains pending uploads and unmounts.
ENTRYPOINT ["/usr/bin/tini", "--", "filesfs", "mount"]
CMD ["/mnt/files"]
