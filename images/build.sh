#!/usr/bin/env bash
# Builds executor-base, executor-python, executor-node and executor-java on this machine from
# nothing, then prints each image's size.
#
# Steps, each skipped when already done (so a rerun is a cache hit):
#   1. a Docker engine: start dockerd if none answers, installing docker.io with apt if missing;
#   2. the base image ($BASE_IMAGE, debian:trixie-slim): use the local one, else pull it, else
#      make it with debootstrap (minbase, slimmed like Debian's official slim images) and import it;
#   3. the images, with BuildKit; the host's CA bundle is passed to pip as a build secret.
#
# Environment: DOCKER (client, default /usr/bin/docker when present), BASE_IMAGE,
# DEBIAN_MIRROR (default http://deb.debian.org/debian), CACHE_DIR (default
# /var/cache/executor-images), CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt),
# PULL_TIMEOUT_S (default 20), IMAGE_TAG (default latest: the tag every image gets, so that
# checkouts of different branches on one engine do not overwrite each other's images).
# Arguments: image names to build (base python node java); none builds all four.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_IMAGE=${BASE_IMAGE:-debian:trixie-slim}
DEBIAN_SUITE=${DEBIAN_SUITE:-trixie}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${CACHE_DIR:-/var/cache/executor-images}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
PULL_TIMEOUT_S=${PULL_TIMEOUT_S:-20}
IMAGE_TAG=${IMAGE_TAG:-latest}
if [[ -z ${DOCKER:-} ]]; then
    # Debian's client has BuildKit built in; a newer client first on PATH may want buildx.
    if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
export DOCKER_BUILDKIT=1

log() { printf '[build.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { [[ $(id -u) -eq 0 ]] || die "$1 needs root; run as root or do it by hand"; }

ensure_docker() {
    if "$DOCKER" info >/dev/null 2>&1; then return; fi
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v "$DOCKER" >/dev/null 2>&1; then
        as_root "installing docker.io"
        log "installing docker.io"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
        if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; fi
    fi
    if ! "$DOCKER" info >/dev/null 2>&1; then
        as_root "starting dockerd"
        log "starting dockerd (log: /var/log/dockerd.log)"
        nohup dockerd >/var/log/dockerd.log 2>&1 &
        local deadline=$((SECONDS + 60))
        until "$DOCKER" info >/dev/null 2>&1; do
            ((SECONDS < deadline)) || die "dockerd did not answer within 60 s; see /var/log/dockerd.log"
            sleep 0.5
        done
    fi
    log "docker engine $("$DOCKER" version --format '{{.Server.Version}}')"
}

ensure_base_image() {
    if "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        log "base image $BASE_IMAGE present"
        return
    fi
    if timeout "$PULL_TIMEOUT_S" "$DOCKER" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        log "pulled $BASE_IMAGE"
        return
    fi
    [[ $BASE_IMAGE == "debian:$DEBIAN_SUITE-slim" ]] \
        || die "cannot pull $BASE_IMAGE, and only debian:$DEBIAN_SUITE-slim can be made locally"
    log "no registry gave $BASE_IMAGE; making it with debootstrap"
    make_debian_image
}

make_debian_image() {
    as_root "debootstrap"
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
    fi
    mkdir -p "$CACHE_DIR"
    rootfs=$(mktemp -d "$CACHE_DIR/rootfs-$DEBIAN_SUITE.XXXXXX")
    # The trap removes a half-made root filesystem if anything below fails.
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" \
        >"$CACHE_DIR/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
    slim_rootfs "$rootfs"
    tar --numeric-owner --xattrs -C "$rootfs" -c . | "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $DEBIAN_SUITE, slimmed by images/build.sh" \
        - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    log "imported $BASE_IMAGE"
}

# Does what Debian's official slim images do to a minbase root filesystem (debuerreotype's
# slimify and docker-* apt settings): no docs, man pages or translations, no apt caches, no
# host files that debootstrap copied in.
slim_rootfs() {
    local root=$1
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'APT::AutoRemove::SuggestsImportant "false";' \
        >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
        -exec rm -rf {} +
    rm -rf "$root"/usr/share/{groff,info,linda,lintian,man}/* \
        "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
        "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/*
    # Docker provides these at run time; the copies from the host must not ship.
    : >"$root/etc/resolv.conf"
    : >"$root/etc/hostname"
    : >"$root/etc/machine-id"
}

build_image() {
    local name=$1 dockerfile=$2 context=$3
    shift 3
    local started=$SECONDS
    log "building $name"
    local secret=() build_log="$CACHE_DIR/build-${name%%:*}-$IMAGE_TAG.log"
    if [[ -r $CA_BUNDLE ]]; then secret=(--secret "id=cacert,src=$CA_BUNDLE"); fi
    "$DOCKER" build --progress=plain "${secret[@]}" \
        -f "$dockerfile" -t "$name" "$@" "$context" >"$build_log" 2>&1 || {
        tail -n 40 "$build_log" >&2
        die "building $name failed; full log: $build_log"
    }
    log "built $name in $((SECONDS - started)) s"
}

main() {
    local targets=("$@")
    if ((${#targets[@]} == 0)); then targets=(base python node java); fi
    mkdir -p "$CACHE_DIR"
    ensure_docker
    ensure_base_image
    version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO_DIR/executor/__init__.py")
    revision=$(git -C "$REPO_DIR" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    local target
    for target in "${targets[@]}"; do
        case $target in
        base)
            build_image "executor-base:$IMAGE_TAG" "$REPO_DIR/Dockerfile.base" "$REPO_DIR" \
                --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "VERSION=$version"
            ;;
        python | node | java)
            build_image "executor-$target:$IMAGE_TAG" "$REPO_DIR/images/$target/Dockerfile" \
                "$REPO_DIR/images/$target" --build-arg "BASE=executor-base:$IMAGE_TAG" \
                --build-arg "REVISION=$revision"
            ;;
        *) die "unknown image '$target' (expected base, python, node or java)" ;;
        esac
    done
    # Each rebuild leaves the previous images untagged; drop those of ours that nothing uses.
    for target in base python node java; do
        "$DOCKER" image prune -f --filter "label=org.opencontainers.image.title=executor-$target" \
            >/dev/null
    done
    "$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' \
        | grep -E "^executor-(base|python|node|java):$IMAGE_TAG" | sort
}

main "$@"
