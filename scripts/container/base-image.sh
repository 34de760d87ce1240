#!/usr/bin/env bash
# A local stand-in for the registry's node:20-bookworm-slim, for machines that cannot pull images:
# Debian bookworm (debootstrap, minbase variant) + this machine's own Node.js and npm, laid out
# as the official image lays them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm), so
# the Dockerfile builds on it unchanged:
#
#   podman build --build-arg NODE_IMAGE="$(scripts/container/base-image.sh)" --target cpu .
#
# Prints the image name on stdout (progress goes to stderr). Cached: when the image already
# exists in podman's store it is reused at once (the name carries the Node version, so a Node
# upgrade makes a new one); BASE_IMAGE_REBUILD=1 forces a fresh one. Needs root (debootstrap,
# rootful podman). Node's libc needs (glibc ≥ 2.28, libstdc++) are met by bookworm's minbase.
set -euo pipefail

NODE_BIN=$(readlink -f "$(command -v node)")
NODE_VERSION=$("$NODE_BIN" -p process.versions.node)
NODE_MAJOR=${NODE_VERSION%%.*}
SUITE=${BASE_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TAG=${BASE_IMAGE:-localhost/jfdl-node-base:${NODE_VERSION}-${SUITE}}

if [ "$NODE_MAJOR" != 20 ]; then
  echo "base-image: node $NODE_VERSION found; the service targets Node 20" >&2
  exit 1
fi
if [ "${BASE_IMAGE_REBUILD:-0}" != 1 ] && podman image exists "$TAG"; then
  echo "base-image: $TAG cached" >&2
  echo "$TAG"
  exit 0
fi

# npm as the node package installs it (…/lib/node_modules/npm next to …/bin/node)
NPM_DIR=$(readlink -f "$(dirname "$NODE_BIN")/../lib/node_modules/npm")
[ -f "$NPM_DIR/bin/npm-cli.js" ] || NPM_DIR=$(npm root -g)/npm
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { echo "base-image: npm not found next to $NODE_BIN" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/jfdl-rootfs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs

# the downloaded .debs are kept, so remaking the image on the same machine downloads nothing
DEB_CACHE=${DEBOOTSTRAP_CACHE:-/var/cache/jfdl-serve/debootstrap-$SUITE}
mkdir -p "$DEB_CACHE"
echo "base-image: debootstrap --variant=minbase $SUITE (a few minutes on 2 busy cores)" >&2
debootstrap --variant=minbase --cache-dir="$DEB_CACHE" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -20 "$WORK/debootstrap.log" >&2
  exit 1
}

# what the slim image also leaves out: package caches and lists, docs, man pages, translations
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
  "$ROOTFS"/usr/share/locale/*

echo "base-image: adding node $NODE_VERSION and npm $(node "$NPM_DIR/bin/npm-cli.js" -v) from this machine" >&2
install -D -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
# This machine's CA certificates (NODE_EXTRA_CA_CERTS, else the system bundle: a TLS-inspecting
# proxy in front of the npm registry, for instance) go with its Node, so that npm inside a build
# trusts what this machine trusts. The official image needs none of this.
CHANGES=()
CA=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$CA" ]; then
  install -D -m 0644 "$CA" "$ROOTFS/usr/local/share/jfdl-node-base/extra-ca.crt"
  CHANGES+=(--change "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/jfdl-node-base/extra-ca.crt")
fi
# the same check the official image's build runs
env -u NODE_EXTRA_CA_CERTS chroot "$ROOTFS" /usr/local/bin/node -e 'process.exit(process.versions.node === process.argv[1] ? 0 : 1)' "$NODE_VERSION"

echo "base-image: importing as $TAG" >&2
tar -C "$ROOTFS" --numeric-owner -c . | podman import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change "LABEL org.opencontainers.image.description=debootstrap $SUITE minbase + node $NODE_VERSION (local stand-in for node:$NODE_MAJOR-$SUITE-slim)" \
  --change "LABEL io.jfdl-serve.base=$TAG" \
  --change 'CMD ["node"]' \
  "${CHANGES[@]}" \
  - "$TAG" >&2
echo "$TAG"
