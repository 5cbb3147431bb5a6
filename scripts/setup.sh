#!/usr/bin/env bash
# One-command set-up for a fresh Debian/Ubuntu machine (also what .ci/run runs):
#   - checks Node.js >= 20.12, installs pnpm if missing
#   - installs PostgreSQL (+ contrib, client tools) and Redis from Debian's packages if absent, starts them if stopped
#   - lets the local postgres user in over loopback without a password (tests create throwaway databases there)
#   - creates and starts a second cluster, mbsync_plain on 127.0.0.1:5433, that never holds the platform roles (tests)
#   - installs Chromium from Debian's packages for the dashboard's browser tests
#   - installs the project's dependencies from the lockfile, builds it, and creates .env from .env.example
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then command -v sudo >/dev/null || die "run as root or install sudo"; SUDO="sudo"; fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Node.js and pnpm -------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js >= 20.12 is required (Debian's nodejs package is too old: install Node 20 LTS first)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=12)?0:1)' \
  || die "Node.js >= 20.12 is required, found $(node --version)"
pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$pnpm_version" ]; then
  say "installing pnpm $pnpm_version"
  $SUDO npm install -g --silent "pnpm@$pnpm_version"
fi

# --- PostgreSQL --------------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null || ! command -v pg_dump >/dev/null; then
  say "installing PostgreSQL from Debian's packages"
  apt_install postgresql postgresql-contrib postgresql-client
fi
pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
[ -n "$pg_version" ] || die "no PostgreSQL cluster found under /etc/postgresql"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "starting PostgreSQL $pg_version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || $SUDO pg_ctlcluster "$pg_version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not come up on 127.0.0.1:5432"
fi
if ! PGCONNECT_TIMEOUT=5 psql -X -h 127.0.0.1 -U postgres -d postgres -w -tAc 'select 1' >/dev/null 2>&1; then
  # Debian's default asks loopback clients for a password; tests use the postgres role on loopback only.
  hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
  say "allowing passwordless loopback logins in $hba (127.0.0.1 and ::1 only)"
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload 2>/dev/null || $SUDO pg_ctlcluster "$pg_version" main reload
  sleep 1
  psql -X -h 127.0.0.1 -U postgres -d postgres -w -tAc 'select 1' >/dev/null || die "cannot log in to PostgreSQL as postgres on 127.0.0.1"
fi

# --- a second PostgreSQL cluster without the platform roles, for tests ----------------------------
# Roles are cluster-wide: once a test creates Supabase's roles (anon, authenticated, …) on the main cluster, no
# database there can stand for "a plain PostgreSQL without them". This cluster only ever has its bootstrap
# superuser; tests reach it through PG_PLAIN_TEST_URL (default postgres://postgres@127.0.0.1:5433/postgres).
plain_cluster=mbsync_plain
plain_port=5433
plain_conf="/etc/postgresql/$pg_version/$plain_cluster"
plain_restart=0
if [ ! -f "$plain_conf/postgresql.conf" ]; then
  taken=$(pg_lsclusters -h | awk -v p="$plain_port" '$3 == p { print $1 "/" $2 }')
  [ -z "$taken" ] || die "port $plain_port is used by PostgreSQL cluster $taken; the test cluster $pg_version/$plain_cluster needs it"
  say "creating PostgreSQL cluster $pg_version/$plain_cluster on 127.0.0.1:$plain_port (tests: a server without the platform roles)"
  $SUDO pg_createcluster --quiet --no-status --port "$plain_port" --encoding UTF8 --locale C.UTF-8 \
    "$pg_version" "$plain_cluster" >/dev/null
fi
actual_port=$(pg_lsclusters -h | awk -v v="$pg_version" -v c="$plain_cluster" '$1 == v && $2 == c { print $3 }')
[ "$actual_port" = "$plain_port" ] || die "cluster $pg_version/$plain_cluster listens on port ${actual_port:-?}, expected $plain_port (pg_dropcluster --stop $pg_version $plain_cluster, then run this again)"
# loopback only, no password on loopback (as the main cluster for the tests); rewritten only when it differs
plain_settings="# written by scripts/setup.sh: test cluster, loopback only
listen_addresses = '127.0.0.1'"
plain_hba="# written by scripts/setup.sh: test cluster, trust on loopback only
local all postgres peer
local all all peer
host all all 127.0.0.1/32 trust"
if [ "$($SUDO cat "$plain_conf/conf.d/mbsync-test.conf" 2>/dev/null)" != "$plain_settings" ]; then
  printf '%s\n' "$plain_settings" | $SUDO tee "$plain_conf/conf.d/mbsync-test.conf" >/dev/null
  plain_restart=1
fi
plain_reload=0
if [ "$($SUDO cat "$plain_conf/pg_hba.conf" 2>/dev/null)" != "$plain_hba" ]; then
  printf '%s\n' "$plain_hba" | $SUDO tee "$plain_conf/pg_hba.conf" >/dev/null
  plain_reload=1
fi
plain_running=$(pg_lsclusters -h | awk -v v="$pg_version" -v c="$plain_cluster" '$1 == v && $2 == c { print $4 }')
plain_action=""
if [ "$plain_running" != "online" ]; then plain_action=start
elif [ "$plain_restart" -eq 1 ]; then plain_action=restart   # listen_addresses needs a restart
elif [ "$plain_reload" -eq 1 ]; then plain_action=reload
fi
if [ -n "$plain_action" ]; then
  say "$plain_action: PostgreSQL cluster $pg_version/$plain_cluster (127.0.0.1:$plain_port)"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$plain_cluster" "$plain_action" \
    || $SUDO pg_ctlcluster "$pg_version" "$plain_cluster" "$plain_action"
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$plain_port" && break; sleep 1; done
fi
PGCONNECT_TIMEOUT=5 psql -X -h 127.0.0.1 -p "$plain_port" -U postgres -d postgres -w -tAc 'select 1' >/dev/null 2>&1 \
  || die "cannot log in to the test cluster $pg_version/$plain_cluster as postgres on 127.0.0.1:$plain_port"

# --- Redis -------------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null; then
  say "installing Redis from Debian's packages"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  say "starting Redis on 127.0.0.1:6379"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/mbsync-dev.log
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG && break; sleep 0.5; done
  redis-cli -h 127.0.0.1 ping | grep -q PONG || die "Redis did not come up on 127.0.0.1:6379"
fi

# --- Chromium, for the dashboard's browser tests (Debian's package; no browser download at test time) --
if [ ! -x /usr/bin/chromium ]; then
  say "installing Chromium from Debian's packages (dashboard browser tests)"
  apt_install chromium
fi

# --- the project -------------------------------------------------------------------------------
say "installing dependencies (pnpm install --frozen-lockfile)"
CI=true pnpm install --frozen-lockfile --reporter=silent
say "building (pnpm build)"
pnpm -s build
if [ ! -f .env ]; then
  cp .env.example .env
  say "created .env from .env.example (edit it to add your environments)"
fi
say "ready: PostgreSQL $pg_version (main on 127.0.0.1:5432, test cluster $plain_cluster on 127.0.0.1:$plain_port) and Redis are running; run 'pnpm test'"
