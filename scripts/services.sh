#!/usr/bin/env bash
# Make PostgreSQL and Redis ready on loopback for the rtc-console test suite.
#
# Idempotent and non-interactive: safe to run twice, fast when both services
# already answer. As root it may install redis-server, start the PostgreSQL
# cluster, create the test role and start a throw-away Redis. As any other
# user it only checks that the services are there and reports.
#
# On success it prints the two URLs and writes them to .services.env at the
# repository root, where tests/infra.py picks them up.
#
# Overridable through the environment (defaults in brackets):
#   RTC_PG_VERSION [15]  RTC_PG_CLUSTER [main]  RTC_PG_PORT [5432]
#   RTC_REDIS_PORT [6379]  RTC_SERVICES_WAIT [30] (seconds per service)
#   RTC_REDIS_CLUSTER_PORTS ["7000 7001 7002"] (a three-node Redis Cluster on
#   loopback, no replicas, for the live-state contract suite; "" skips it)
set -euo pipefail

PG_VERSION="${RTC_PG_VERSION:-15}"
PG_CLUSTER="${RTC_PG_CLUSTER:-main}"
PG_HOST=127.0.0.1
PG_PORT="${RTC_PG_PORT:-5432}"
PG_ROLE=rtc_test
PG_PASSWORD=rtc_test
REDIS_HOST=127.0.0.1
REDIS_PORT="${RTC_REDIS_PORT:-6379}"
WAIT_SECONDS="${RTC_SERVICES_WAIT:-30}"
REDIS_DIR="${RTC_REDIS_DIR:-/tmp/rtc-test-redis}"
REDIS_CLUSTER_PORTS="${RTC_REDIS_CLUSTER_PORTS-7000 7001 7002}"
REDIS_CLUSTER_DIR="${RTC_REDIS_CLUSTER_DIR:-/tmp/rtc-test-redis-cluster}"

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT_DIR/.services.env"
POSTGRES_URL="postgresql+psycopg://${PG_ROLE}:${PG_PASSWORD}@${PG_HOST}:${PG_PORT}/postgres"
REDIS_URL="redis://${REDIS_HOST}:${REDIS_PORT}/0"
REDIS_CLUSTER_URL=""

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

# ---------------------------------------------------------------- PostgreSQL

pg_answers() {
    command -v pg_isready >/dev/null 2>&1 || return 1
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

# Succeeds when the test role can log in over TCP with its password and may
# create databases.
pg_role_ready() {
    local out
    out="$(PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 \
        psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ROLE" -d postgres -XqAt \
        -c "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" \
        2>/dev/null)" || return 1
    [[ "$out" == "t" ]]
}

pg_start() {
    command -v pg_ctlcluster >/dev/null 2>&1 \
        || die "pg_ctlcluster not found; is PostgreSQL ${PG_VERSION} installed?"
    if pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; then
        log "PostgreSQL ${PG_VERSION}/${PG_CLUSTER} is running; waiting for it to accept connections"
        return 0
    fi
    log "starting PostgreSQL ${PG_VERSION}/${PG_CLUSTER}"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start \
        || die "could not start PostgreSQL ${PG_VERSION}/${PG_CLUSTER} (see /var/log/postgresql/postgresql-${PG_VERSION}-${PG_CLUSTER}.log)"
}

pg_wait() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    until pg_answers; do
        ((SECONDS < deadline)) \
            || die "PostgreSQL did not answer on ${PG_HOST}:${PG_PORT} within ${WAIT_SECONDS}s"
        sleep 0.2
    done
}

pg_ensure_role() {
    log "creating/updating role ${PG_ROLE}"
    # Runs as the postgres OS user over the Unix socket (peer auth); cd / so
    # psql does not complain about an unreadable working directory.
    (cd / && runuser -u postgres -- psql -p "$PG_PORT" -d postgres -XqAt -v ON_ERROR_STOP=1 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_ROLE}') THEN
        CREATE ROLE ${PG_ROLE} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
    ELSE
        ALTER ROLE ${PG_ROLE} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
    END IF;
END
\$\$;
SQL
    ) || die "could not create role ${PG_ROLE}"
}

ensure_postgres() {
    if ! pg_answers; then
        is_root || die "PostgreSQL does not answer on ${PG_HOST}:${PG_PORT} and only root may start it"
        command -v psql >/dev/null 2>&1 || die "psql not found; is PostgreSQL ${PG_VERSION} installed?"
        pg_start
        pg_wait
    fi
    if ! pg_role_ready; then
        is_root || die "role ${PG_ROLE} cannot log in to ${PG_HOST}:${PG_PORT} (or lacks CREATEDB) and only root may fix it"
        pg_ensure_role
        pg_role_ready || die "role ${PG_ROLE} still cannot log in over TCP with its password; check pg_hba.conf"
    fi
    log "PostgreSQL ready"
}

# --------------------------------------------------------------------- Redis

# PING via redis-cli when present, else over bash's /dev/tcp, so the check
# works before redis-tools is installed.
redis_answers() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
        return
    fi
    # shellcheck disable=SC2016  # expanded by the inner bash, from $0 and $1
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r line <&3 || exit 1
        [[ "$line" == "+PONG"* ]]
    ' "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
}

redis_install() {
    command -v redis-server >/dev/null 2>&1 && return 0
    is_root || die "redis-server is not installed and only root may install it"
    log "installing redis-server (apt)"
    export DEBIAN_FRONTEND=noninteractive
    local apt_log
    apt_log="$(mktemp)"
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; } \
        >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        die "installing redis-server with apt-get failed (output above)"
    fi
    rm -f "$apt_log"
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after apt-get install"
}

redis_start() {
    mkdir -p "$REDIS_DIR"
    log "starting redis-server on ${REDIS_HOST}:${REDIS_PORT} (no persistence; log ${REDIS_DIR}/redis.log)"
    redis-server \
        --bind "$REDIS_HOST" --port "$REDIS_PORT" \
        --save "" --appendonly no \
        --daemonize yes \
        --dir "$REDIS_DIR" \
        --pidfile "$REDIS_DIR/redis.pid" \
        --logfile "$REDIS_DIR/redis.log" \
        || die "redis-server failed to start (see ${REDIS_DIR}/redis.log)"
}

redis_wait() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    until redis_answers; do
        ((SECONDS < deadline)) \
            || die "Redis did not answer on ${REDIS_HOST}:${REDIS_PORT} within ${WAIT_SECONDS}s (see ${REDIS_DIR}/redis.log)"
        sleep 0.2
    done
}

ensure_redis() {
    if ! redis_answers; then
        is_root || die "Redis does not answer on ${REDIS_HOST}:${REDIS_PORT} and only root may start it"
        redis_install
        # Some machines start the packaged service on install.
        if ! redis_answers; then
            redis_start
            redis_wait
        fi
    fi
    log "Redis ready"
}

# ------------------------------------------------------------- Redis Cluster

# The cluster answers when every node is up and CLUSTER INFO says ok.
redis_cluster_answers() {
    local port
    for port in $REDIS_CLUSTER_PORTS; do
        timeout 3 redis-cli -h "$REDIS_HOST" -p "$port" cluster info 2>/dev/null \
            | grep -q '^cluster_state:ok' || return 1
    done
}

redis_cluster_start_node() {
    local port="$1" dir="$REDIS_CLUSTER_DIR/$1"
    [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$port" ping 2>/dev/null)" == "PONG" ]] && return 0
    mkdir -p "$dir"
    log "starting Redis Cluster node on ${REDIS_HOST}:${port} (log ${dir}/redis.log)"
    redis-server \
        --bind "$REDIS_HOST" --port "$port" \
        --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
        --cluster-node-timeout 5000 \
        --save "" --appendonly no \
        --daemonize yes \
        --dir "$dir" \
        --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" \
        || die "redis-server (cluster node ${port}) failed to start (see ${dir}/redis.log)"
}

ensure_redis_cluster() {
    [[ -n "$REDIS_CLUSTER_PORTS" ]] || return 0
    local port nodes=() first
    for port in $REDIS_CLUSTER_PORTS; do
        nodes+=("${REDIS_HOST}:${port}")
    done
    first="${REDIS_CLUSTER_PORTS%% *}"
    if ! redis_cluster_answers; then
        if ! is_root; then  # optional: its tests skip (or fail under RTC_REQUIRE_SERVICES=1)
            log "warning: the Redis Cluster does not answer on ${nodes[*]} and only root may start it"
            return 0
        fi
        command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (package redis-tools)"
        for port in $REDIS_CLUSTER_PORTS; do
            redis_cluster_start_node "$port"
        done
        local deadline=$((SECONDS + WAIT_SECONDS))
        for port in $REDIS_CLUSTER_PORTS; do
            until [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$port" ping 2>/dev/null)" == "PONG" ]]; do
                ((SECONDS < deadline)) || die "Redis Cluster node ${port} did not answer within ${WAIT_SECONDS}s"
                sleep 0.2
            done
        done
        # Nodes that know no peers yet form the cluster; otherwise they are rejoining it.
        if [[ "$(redis-cli -h "$REDIS_HOST" -p "$first" cluster info | grep '^cluster_known_nodes:' | tr -dc '0-9')" == "1" ]]; then
            log "creating the Redis Cluster ${nodes[*]} (no replicas)"
            redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null \
                || die "redis-cli --cluster create failed"
        fi
        until redis_cluster_answers; do
            ((SECONDS < deadline)) || die "the Redis Cluster on ${nodes[*]} did not reach cluster_state:ok within ${WAIT_SECONDS}s"
            sleep 0.2
        done
    fi
    REDIS_CLUSTER_URL="redis+cluster://${REDIS_HOST}:${first}"
    log "Redis Cluster ready"
}

# ------------------------------------------------------------------ Chromium

# Debian's headless Chromium for the web console's browser tests (clients/web; playwright-core
# drives it, no browser download). Optional: without root the browser tests are skipped.
ensure_chromium() {
    [[ -x /usr/bin/chromium ]] && return 0
    if ! is_root; then
        log "warning: /usr/bin/chromium is missing and only root may install it (the browser tests skip)"
        return 0
    fi
    log "installing chromium (apt)"
    export DEBIAN_FRONTEND=noninteractive
    local apt_log
    apt_log="$(mktemp)"
    if ! { apt-get update -qq && apt-get install -y -qq chromium; } >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        die "installing chromium with apt-get failed (output above)"
    fi
    rm -f "$apt_log"
}

# ------------------------------------------------------------------- outputs

# Append a line to .gitignore unless an equivalent entry is already there.
gitignore_ensure() {
    local file="$ROOT_DIR/.gitignore" entry
    [[ -f "$file" ]] || : >"$file"
    for entry in "$@"; do
        grep -qxF -e "$entry" -e "/$entry" -e "${entry%/}" -e "/${entry%/}" "$file" && continue
        # Keep the file newline-terminated before appending.
        if [[ -s "$file" && -n "$(tail -c 1 "$file")" ]]; then
            printf '\n' >>"$file"
        fi
        printf '%s\n' "$entry" >>"$file"
    done
}

write_env_file() {
    local tmp
    tmp="$(mktemp "${ENV_FILE}.XXXXXX")"
    printf 'RTC_TEST_POSTGRES_URL=%s\nRTC_TEST_REDIS_URL=%s\n' "$POSTGRES_URL" "$REDIS_URL" >"$tmp"
    if [[ -n "$REDIS_CLUSTER_URL" ]]; then
        printf 'RTC_TEST_REDIS_CLUSTER_URL=%s\n' "$REDIS_CLUSTER_URL" >>"$tmp"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$ENV_FILE"
}

main() {
    ensure_postgres
    ensure_redis
    ensure_redis_cluster
    ensure_chromium
    if [[ -w "$ROOT_DIR" ]] && [[ ! -e "$ROOT_DIR/.gitignore" || -w "$ROOT_DIR/.gitignore" ]]; then
        gitignore_ensure .venv/ .services.env
        write_env_file
    else
        log "warning: ${ROOT_DIR} is not writable; not writing .services.env or .gitignore"
    fi
    printf 'RTC_TEST_POSTGRES_URL=%s\n' "$POSTGRES_URL"
    printf 'RTC_TEST_REDIS_URL=%s\n' "$REDIS_URL"
    if [[ -n "$REDIS_CLUSTER_URL" ]]; then
        printf 'RTC_TEST_REDIS_CLUSTER_URL=%s\n' "$REDIS_CLUSTER_URL"
    fi
}

main "$@"
