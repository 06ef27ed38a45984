#!/usr/bin/env bash
# End-to-end test of the devp2pd daemon, as an operator would run it: builds
# the binary, starts two daemons as processes with temporary data dirs and
# free loopback ports, adds one to the other over admin JSON-RPC (HTTP),
# checks that both see each other in admin_peers and in /metrics, restarts
# the dialed one (which must tell its peer DiscQuitting) and checks that it
# keeps its node ID and that the peer comes back (the other node redials its static peer). Everything runs on
# 127.0.0.1; every wait is bounded and the whole run is capped by a
# watchdog; the daemons are stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

TOTAL_TIMEOUT=${E2E_TIMEOUT:-240} # seconds for the whole run
START=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/devp2pd-e2e.XXXXXX")
declare -A PIDS=() # name -> pid of the daemons we started
WATCHDOG=

exec 3>&1 # the real stdout, for fail inside redirected polls

log() { printf '[e2e %3ds] %s\n' "$(($(date +%s) - START))" "$*"; }
fail() {
	exec 1>&3 2>&3
	log "FAIL: $*"
	for f in "$WORK"/*.log; do
		[ -f "$f" ] && { echo "--- $f (last 40 lines)"; tail -n 40 "$f"; }
	done
	exit 1
}

cleanup() {
	local rc=$?
	for name in "${!PIDS[@]}"; do
		stop_node "$name" || true
	done
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null && wait "$WATCHDOG" 2>/dev/null
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
trap 'fail "unexpected failure at line $LINENO: $BASH_COMMAND"' ERR

# The watchdog ends a run that hangs anyway. Its sleep must not outlive it:
# it would hold the output open.
(
	trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
	sleep "$TOTAL_TIMEOUT" </dev/null >/dev/null 2>&1 &
	sleeper=$!
	wait "$sleeper" && echo "[e2e] timed out after ${TOTAL_TIMEOUT}s" >&2 && kill -TERM $$
) &
WATCHDOG=$!

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
	local what=$1 secs=$2
	shift 2
	local deadline=$(($(date +%s) + secs))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
		sleep 0.2
	done
}

# started NAME LOG: whether the daemon logged its start; fails the run if
# it exited instead.
started() {
	kill -0 "${PIDS[$1]}" 2>/dev/null || fail "$1 exited during its start"
	grep -q 'msg="Node started"' "$2"
}

# start_node NAME PORT: runs a daemon in the background (PORT 0: a free
# one). Each run logs to its own file in $WORK: NAME.N.log and NAME.N.out.
start_node() {
	local name=$1 port=$2 n=1
	while [ -e "$WORK/$name.$n.log" ]; do n=$((n + 1)); done
	local logf="$WORK/$name.$n.log"
	printf -v "OUT_$name" '%s' "$WORK/$name.$n.out"
	"$WORK/devp2pd" --datadir "$WORK/$name" --port "$port" --nodiscover --verbosity 4 \
		--http --http.port 0 --metrics --metrics.port 0 \
		>"$WORK/$name.$n.out" 2>"$logf" &
	PIDS[$name]=$!
	wait_for "$name to start" 30 started "$name" "$logf"
	# The endpoints are on free ports; their URLs are in the log.
	local rpc metrics
	rpc=$(grep -o 'transport=http url=http://[^ ]*' "$logf" | sed 's/.*url=//')
	metrics=$(grep -o 'Debug listener opened" url=http://[^ ]*' "$logf" | sed 's/.*url=//')
	[ -n "$rpc" ] && [ -n "$metrics" ] || fail "$name: endpoint URLs not in its log"
	printf -v "RPC_$name" '%s' "$rpc"
	printf -v "METRICS_$name" '%s' "$metrics"
}

# stop_node NAME: SIGTERM, then SIGKILL if it has not exited in 15 s.
stop_node() {
	local name=$1 pid=${PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	unset "PIDS[$name]"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 75); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 1
}

# rpc URL METHOD PARAMS: a JSON-RPC call over HTTP; prints the response.
rpc() {
	curl -sS --max-time 10 -H 'Content-Type: application/json' \
		--data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1"
}

# field NAME: the first string value of key NAME in the JSON on stdin.
field() {
	local v
	v=$(grep -o "\"$1\":\"[^\"]*\"") || return 1
	v=${v%%$'\n'*}
	v=${v#*\":\"}
	printf '%s' "${v%\"}"
}

# The checks below read the whole response before grep: with pipefail, a
# grep -q that stops early would fail the pipeline with the writer's SIGPIPE.
peers_has() {
	local r
	r=$(rpc "$1" admin_peers '[]') && grep -q "\"id\":\"$2\"" <<<"$r"
}
peers_empty() {
	local r
	r=$(rpc "$1" admin_peers '[]') && grep -q '"result":\[\]' <<<"$r"
}
metric_is() {
	local m
	m=$(curl -sS --max-time 10 "${1}metrics") && grep -qx "$2" <<<"$m"
}

log "building devp2pd"
go build -o "$WORK/devp2pd" ./cmd/devp2pd

log "starting nodes a and b"
start_node a 0
start_node b 0
info_a=$(rpc "$RPC_a" admin_nodeInfo '[]')
info_b=$(rpc "$RPC_b" admin_nodeInfo '[]')
ID_a=$(field id <<<"$info_a")
ID_b=$(field id <<<"$info_b")
ENODE_b=$(field enode <<<"$info_b")
PORT_b=$(sed -n 's/.*@127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$ENODE_b")
[ ${#ID_a} -eq 64 ] && [ ${#ID_b} -eq 64 ] && [ -n "$PORT_b" ] || fail "bad admin_nodeInfo: $info_b"
grep -qx "$ENODE_b" "$OUT_b" || fail "b did not print its enode URL on stdout"
log "a=${ID_a:0:16} b=${ID_b:0:16} (b listens on $PORT_b)"

log "bad requests get JSON-RPC errors"
r=$(rpc "$RPC_a" admin_addPeer '["enode://nonsense"]')
grep -q '"message":"invalid enode: ' <<<"$r" || fail "bad enode: $r"
r=$(rpc "$RPC_a" admin_addPeer '[]')
grep -q '"code":-32602,"message":"missing value for required argument 0"' <<<"$r" || fail "missing argument: $r"

log "a adds b with admin_addPeer"
r=$(rpc "$RPC_a" admin_addPeer "[\"$ENODE_b\"]")
grep -q '"result":true' <<<"$r" || fail "admin_addPeer: $r"
wait_for "b in a's admin_peers" 20 peers_has "$RPC_a" "$ID_b"
wait_for "a in b's admin_peers" 20 peers_has "$RPC_b" "$ID_a"
r=$(rpc "$RPC_a" net_peerCount '[]')
grep -q '"result":"0x1"' <<<"$r" || fail "net_peerCount on a: $r"

log "both count the peer in /metrics"
wait_for "p2p_peers_outbound 1 on a" 10 metric_is "$METRICS_a" 'p2p_peers_outbound 1'
wait_for "p2p_peers_inbound 1 on b" 10 metric_is "$METRICS_b" 'p2p_peers_inbound 1'
metric_is "$METRICS_a" 'p2p_connected_peers{class="static",direction="outbound"} 1' ||
	fail "a does not count b as a static peer"


log "restarting b"
stop_node b || fail "b did not exit cleanly on SIGTERM"
grep -q 'msg="Node stopped"' "$WORK/b.1.log" || fail "b did not log a clean stop"
wait_for "a to notice b is gone" 20 peers_empty "$RPC_a"
wait_for "a to count b's DiscQuitting" 10 metric_is "$METRICS_a" \
	'p2p_disconnects_total{direction="outbound",reason="client quitting",requested_by="remote"} 1'
start_node b "$PORT_b"
ID_b2=$(rpc "$RPC_b" admin_nodeInfo '[]' | field id)
[ "$ID_b2" = "$ID_b" ] || fail "b's node ID changed across the restart: $ID_b -> $ID_b2"

log "waiting for a to redial b (its dial history holds b for 35 s after the first dial)"
wait_for "b back in a's admin_peers" 90 peers_has "$RPC_a" "$ID_b"
wait_for "a back in b's admin_peers" 20 peers_has "$RPC_b" "$ID_a"
wait_for "p2p_peers_inbound 1 on the restarted b" 10 metric_is "$METRICS_b" 'p2p_peers_inbound 1'
metric_is "$METRICS_a" 'p2p_peers_added_total{direction="outbound"} 2' || fail "a did not count two outbound additions"

stop_node a || fail "a did not exit cleanly on SIGTERM"
stop_node b || fail "b did not exit cleanly on SIGTERM"
log "PASS in $(($(date +%s) - START))s"
