#!/usr/bin/env bash
# A throw-away PostgreSQL + PostGIS server on 127.0.0.1 for the database tests (tests/catalog/).
#
#   .ci/postgis.sh start DIR   installs the Debian packages when missing (as root or with sudo -n),
#                              creates a cluster in DIR/data, starts it on port $MINECARBON_PG_PORT
#                              (default 54329, else the next free one) and prints the two lines to source:
#                                export MINECARBON_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres
#                                export PGPASSFILE=DIR/pgpass
#   .ci/postgis.sh stop DIR    stops it.
#
# The password is random, lives only in DIR/pgpass (mode 600) and is read by libpq from there.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?DIR}
port=${MINECARBON_PG_PORT:-54329}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@";
  else echo "postgis.sh: not root and no password-less sudo: cannot install $*" >&2; return 1; fi
}
# the server must not run as root: use the 'postgres' account then
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install() {
  local bin ver
  bin=$(pgbin)
  if [ -n "$bin" ]; then ver=$(basename "$(dirname "$bin")"); fi
  if [ -n "$bin" ] && [ -f "/usr/share/postgresql/$ver/extension/postgis.control" ] && command -v ogrinfo >/dev/null; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q --no-install-recommends postgresql gdal-bin >&2 \
    || { as_root apt-get update -q >&2 && as_root apt-get install -y -q --no-install-recommends postgresql gdal-bin >&2; }
  ver=$(basename "$(dirname "$(pgbin)")")
  as_root apt-get install -y -q --no-install-recommends "postgresql-$ver-postgis-3" >&2
}

case "$cmd" in
  start)
    install
    bin=$(pgbin)
    # the first free port from $port on (another server, e.g. a developer's, may hold it)
    for _ in $(seq 1 20); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=$((port + 1)); else break; fi
    done
    mkdir -p "$dir"
    chmod 755 "$dir"
    pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    umask 077
    printf '%s\n' "$pw" > "$dir/pw"
    printf '127.0.0.1:%s:*:postgres:%s\n' "$port" "$pw" > "$dir/pgpass"
    mkdir -p "$dir/data"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir/data" "$dir/pw"; fi
    run_pg "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth-local=trust \
      --auth-host=scram-sha-256 --pwfile="$dir/pw" >&2
    rm -f "$dir/pw"
    run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
      -o "-p $port -k $dir/data -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >&2
    echo "export MINECARBON_TEST_PG_URL=postgresql://postgres@127.0.0.1:$port/postgres"
    echo "export PGPASSFILE=$dir/pgpass"
    ;;
  stop)
    bin=$(pgbin)
    [ -d "$dir/data" ] && run_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
