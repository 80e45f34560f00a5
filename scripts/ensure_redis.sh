#!/usr/bin/env bash
# The Redis tests and the benchmark start a real `redis-server`. Install Debian's package when
# the machine has none; fail loudly when that is impossible, so the tests never skip silently.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "ensure_redis: redis-server is not installed, and installing it needs root (or sudo)." >&2
    echo "ensure_redis: install it yourself, e.g. 'apt-get install redis-server', then re-run." >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_redis: redis-server is not installed and this is not a Debian-like system;" >&2
    echo "ensure_redis: install redis-server (Redis >= 6.2) with your package manager." >&2
    exit 1
fi

echo "ensure_redis: installing redis-server (Debian package) for the Redis tests" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# The package starts a system service where one can run; the tests start their own servers.
if command -v redis-server >/dev/null 2>&1; then
    echo "ensure_redis: $(redis-server --version)" >&2
else
    echo "ensure_redis: apt-get finished but redis-server is still not on PATH" >&2
    exit 1
fi
