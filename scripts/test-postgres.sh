#!/usr/bin/env bash
# Throwaway PostgreSQL + pgvector for the test suite (Debian/Ubuntu hosts).
#
#   scripts/test-postgres.sh          full, idempotent setup; prints two lines
#                                     TEST_DATABASE_URL=postgres://...        (cluster "main")
#                                     TEST_FAULT_DATABASE_URL=postgres://...  (cluster "faults")
#   scripts/test-postgres.sh start [main|faults]   only start a cluster (and wait for it); default main
#   scripts/test-postgres.sh stop [main|faults]    only stop a cluster; default main
#
# The "faults" cluster (same server version, role, password and pgvector, on
# the next free port) exists so that test/e2e/http-faults.test.ts can stop and
# start a real server while the other test files keep using "main".
#
# Full setup: installs the PostgreSQL server, headers and build tools if
# missing; builds pgvector from Debian trixie's source package if missing (the
# deb-src entry reuses this machine's own Debian mirror); starts the "main"
# and "faults" clusters; in each creates role facerec/facerec (SUPERUSER: tests
# create their own databases and extensions) and a database (facerec_test,
# facerec_faults_test) with the vector extension. Progress goes to stderr;
# stdout carries only the two URL lines (no spaces in them), e.g.
#   export $(scripts/test-postgres.sh)
set -euo pipefail

ROLE=facerec
PASSWORD=facerec
# Per cluster: its database and the variable its URL is printed as.
declare -A DATABASES=([main]=facerec_test [faults]=facerec_faults_test)
declare -A URL_VARS=([main]=TEST_DATABASE_URL [faults]=TEST_FAULT_DATABASE_URL)
CLUSTER=main
DATABASE=${DATABASES[$CLUSTER]}
PGVECTOR_SUITE=trixie
TRIXIE_SOURCES=/etc/apt/sources.list.d/facerec-trixie-src.sources

export DEBIAN_FRONTEND=noninteractive

log() { echo "test-postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ $EUID -eq 0 ]]; then
  as_root() { "$@"; }
  as_postgres() { (cd / && runuser -u postgres -- "$@"); }
else
  command -v sudo >/dev/null || die "must run as root (or have sudo)"
  as_root() { sudo --preserve-env=DEBIAN_FRONTEND "$@"; }
  as_postgres() { (cd / && sudo -u postgres "$@"); }
fi

# Run a noisy command with its output kept out of the way; show it on failure.
quiet() {
  local out rc=0
  out="$(mktemp)"
  "$@" >"$out" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    log "command failed ($rc): $*"
    tail -n 40 "$out" >&2
  fi
  rm -f "$out"
  return "$rc"
}

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

APT_UPDATED=0
apt_install_missing() {
  local pkg missing=()
  for pkg in "$@"; do is_installed "$pkg" || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    quiet as_root apt-get update -q
    APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  quiet as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Highest installed server major, from /usr/lib/postgresql/<major>/bin/postgres.
pg_major() {
  local dirs
  dirs="$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n $dirs ]] || return 1
  basename "$(dirname "$(dirname "$dirs")")"
}

# Fields of the cluster's line in pg_lsclusters: "ver cluster port status ...".
cluster_field() { # $1 = field number
  pg_lsclusters -h 2>/dev/null | awk -v v="$MAJOR" -v c="$CLUSTER" -v f="$1" '$1 == v && $2 == c { print $f }'
}

cluster_start() {
  [[ -n "$(cluster_field 1)" ]] || {
    # Without --port, pg_createcluster takes the next free port from 5432 up.
    log "creating cluster $MAJOR/$CLUSTER"
    quiet as_root pg_createcluster "$MAJOR" "$CLUSTER"
  }
  if [[ "$(cluster_field 4)" != online ]]; then
    log "starting cluster $MAJOR/$CLUSTER"
    quiet as_root pg_ctlcluster "$MAJOR" "$CLUSTER" start
  fi
  PORT="$(cluster_field 3)"
  local i
  for ((i = 0; i < 60; i++)); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && return 0
    sleep 0.5
  done
  die "cluster $MAJOR/$CLUSTER not ready on port $PORT after 30s"
}

cluster_stop() {
  if [[ -n "$(cluster_field 1)" && "$(cluster_field 4)" == online ]]; then
    log "stopping cluster $MAJOR/$CLUSTER"
    quiet as_root pg_ctlcluster "$MAJOR" "$CLUSTER" stop
  fi
}

# Print "URI<TAB>SIGNED-BY" of the apt source serving the machine's own Debian
# release (the stanza/line whose suite is exactly the release codename).
debian_mirror() {
  local codename="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v want="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uri != "" && !done) {
          print uri "\t" signed; done = 1
        }
        types = suites = uri = signed = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types:") types = val
        else if (key == "suites:") suites = val
        else if (key == "uris:") { split(val, u, /[ \t]+/); uri = u[1] }
        else if (key == "signed-by:" && val ~ /^\//) signed = val
      }
      END { flush() }' "$f"
  done
  if [[ -f /etc/apt/sources.list ]]; then
    # deb [opt=val ...] URI suite component...
    awk -v want="$codename" '
      $1 == "deb" {
        opts = ""; i = 2
        if ($2 ~ /^\[/) { while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ } }
        if ($(i + 1) == want) {
          signed = ""
          if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
          print $i "\t" signed
        }
      }' /etc/apt/sources.list
  fi
}

add_trixie_source() {
  local codename line uri signed content
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [[ -n $codename ]] || die "cannot read VERSION_CODENAME from /etc/os-release"
  line="$(debian_mirror "$codename" | head -n 1)"
  [[ -n $line ]] || die "no apt source for suite '$codename' found to take the Debian mirror from"
  uri="${line%%$'\t'*}"
  signed="${line#*$'\t'}"
  # The release's keyring may predate trixie; the full Debian keyring has its keys.
  if [[ -n $signed ]] && command -v gpg >/dev/null &&
    ! gpg --show-keys "$signed" 2>/dev/null | grep -q "/$PGVECTOR_SUITE)"; then
    signed=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  content="Types: deb-src
URIs: $uri
Suites: $PGVECTOR_SUITE
Components: main"
  [[ -n $signed ]] && content+=$'\n'"Signed-By: $signed"
  if [[ "$(cat "$TRIXIE_SOURCES" 2>/dev/null)" != "$content" ]]; then
    log "writing $TRIXIE_SOURCES"
    printf '%s\n' "$content" | as_root tee "$TRIXIE_SOURCES" >/dev/null
  fi
}

install_pgvector() {
  local control tmp
  control="$("$PG_CONFIG" --sharedir)/extension/vector.control"
  [[ -f $control ]] && return 0
  add_trixie_source
  log "apt-get update ($PGVECTOR_SUITE deb-src only)"
  quiet as_root apt-get update -q \
    -o Dir::Etc::SourceList="$TRIXIE_SOURCES" -o Dir::Etc::SourceParts=- \
    -o APT::Get::List-Cleanup=0
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand $tmp now: it is local
  trap "rm -rf '$tmp'" EXIT
  chmod 755 "$tmp"
  log "fetching pgvector source"
  (cd "$tmp" && quiet apt-get source -q --download-only pgvector)
  (cd "$tmp" && quiet dpkg-source -x ./pgvector_*.dsc src)
  log "building pgvector ($(dpkg-parsechangelog -l "$tmp/src/debian/changelog" -S Version)) for PostgreSQL $MAJOR"
  # OPTFLAGS= drops pgvector's default -march=native (as Debian's package does).
  quiet make -C "$tmp/src" PG_CONFIG="$PG_CONFIG" OPTFLAGS= -j"$(nproc)"
  quiet as_root make -C "$tmp/src" PG_CONFIG="$PG_CONFIG" OPTFLAGS= install
  [[ -f $control ]] || die "pgvector installed but $control is missing"
}

psql_admin() { # $1 = database, rest = psql args
  local db="$1"; shift
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d "$db" "$@"
}

setup_database() {
  psql_admin postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE;
  END IF;
END \$\$;
ALTER ROLE $ROLE WITH LOGIN SUPERUSER PASSWORD '$PASSWORD';
SQL
  if [[ -z "$(psql_admin postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]]; then
    log "creating database $DATABASE"
    psql_admin postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE" >/dev/null
  fi
  # Through TCP with the password, exactly as the tests will connect.
  PGPASSWORD="$PASSWORD" quiet psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DATABASE" \
    -c 'CREATE EXTENSION IF NOT EXISTS vector' ||
    die "cannot connect as $ROLE or create extension vector in $DATABASE"
}

cmd="${1:-setup}"
case "$cmd" in
  setup)
    if ! MAJOR="$(pg_major)"; then
      apt_install_missing postgresql
      MAJOR="$(pg_major)" || die "PostgreSQL server not found after installing it"
    fi
    apt_install_missing postgresql "postgresql-server-dev-$MAJOR" build-essential
    PG_CONFIG="/usr/lib/postgresql/$MAJOR/bin/pg_config"
    install_pgvector
    # pgvector lives in the server's shared directory, so both clusters have it.
    urls=()
    for CLUSTER in main faults; do
      DATABASE=${DATABASES[$CLUSTER]}
      cluster_start
      setup_database
      log "ready: PostgreSQL $MAJOR/$CLUSTER on port $PORT"
      urls+=("${URL_VARS[$CLUSTER]}=postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE")
    done
    printf '%s\n' "${urls[@]}"
    ;;
  start | stop)
    CLUSTER="${2:-main}"
    [[ -n "${DATABASES[$CLUSTER]:-}" ]] || die "usage: $0 $cmd [main|faults]"
    MAJOR="$(pg_major)" || die "PostgreSQL server is not installed; run $0 without arguments first"
    "cluster_$cmd"
    ;;
  *)
    die "usage: $0 [start|stop] [main|faults]"
    ;;
esac
