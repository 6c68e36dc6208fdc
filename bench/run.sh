#!/usr/bin/env bash
# bench/run.sh - the studiod benchmark (`make bench`).
#
# What it measures: the throughput (req/s), latency (p50, p99) and server CPU
# time per request of the release build (build/studiod, -O2, synchronous=FULL,
# so every commit is fsynced) on a fresh database, under wrk with 64 keep-alive
# connections (4 threads), for four scenarios:
#   booking     each request books a fresh (member, class) pair to 201 confirmed
#   cancel      book / cancel / book again cycles on the same pairs
#   contention  everyone books 4 classes of 10 places: mostly 409 class_full
#   reads       the schedule of a week and the member's page, alternately
# Each scenario runs 3 times (2 s warm-up, then 10 s measured). Each repetition
# first runs the same wrk settings against GET /healthz of the same server, and
# the scenario's req/s is also given as a ratio to that baseline: on a small
# machine wrk and the server share the CPUs, and the ratio says how far a
# scenario is from the cheapest request the server can answer.
# The table (median, min..max) goes to stdout and bench/results.md.
#
# The run fails (exit 1) on any unexpected HTTP status, any socket error wrk
# reports, or a server that dies; the targets (booking ratio >= 0.25 with
# p99 < 20 ms, reads ratio >= 0.5) are only reported.
#
# BENCH_PRELOAD=N first books N reservations (the booking scenario, run until
# N pairs are used) so the tables are not empty. The server is always stopped
# (SIGTERM, then wait) at the end, also on failure.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-build/studiod}
CONNECTIONS=64
THREADS=4
WARMUP=${BENCH_WARMUP:-2}        # seconds
DURATION=${BENCH_DURATION:-10}   # seconds
REPS=${BENCH_REPS:-3}
TIMEOUT=5                        # wrk's per-request timeout, seconds
MEMBERS=4000
CLASSES=100
CAPACITY=100000
PRELOAD=${BENCH_PRELOAD:-0}
SCENARIOS=${BENCH_SCENARIOS:-booking cancel contention reads}

# Every pair is booked at most once; the 3 x (2 + 10) s of booking and the
# preload each need their own. 4000 x 100 = 400 000 pairs without a preload;
# with one, N / 4000 more classes, plus 75 (300 000 pairs) for the last 30 s
# preload chunk overshooting N.
if [ "$PRELOAD" -gt 0 ]; then
	CLASSES=$((CLASSES + (PRELOAD + MEMBERS - 1) / MEMBERS + 75))
fi

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN missing: run make build/studiod"
command -v wrk >/dev/null || die "wrk missing: run tools/deps.sh --bench as root"

tmp=$(mktemp -d /tmp/studiod-bench.XXXXXX)
server="" server_status=0
stop_server() { # SIGTERM, then wait: studiod drains and exits 0
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server"
		wait "$server" || server_status=$?
		[ "$server_status" = 0 ] || echo "bench: server exited with status $server_status" >&2
	fi
	server=""
}
cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port

STUDIOD_SERVER_LISTEN=127.0.0.1:$port \
STUDIOD_DATABASE_PATH=$tmp/studiod.db \
STUDIOD_LOG_LEVEL=warn \
	"$BIN" >"$tmp/server.log" 2>&1 &
server=$!

for _ in $(seq 100); do
	curl -fs "$url/readyz" >/dev/null 2>&1 && break
	kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log" >&2; die "server did not start"; }
	sleep 0.1
done
curl -fs "$url/readyz" >/dev/null || die "server not ready after 10 s"
[ -s "$tmp/admin.token" ] || die "no $tmp/admin.token"
echo "bench: $BIN (pid $server) on $url, database $tmp/studiod.db"

python3 bench/setup.py --port "$port" --admin-token-file "$tmp/admin.token" \
	--out "$tmp/data" --members "$MEMBERS" --classes "$CLASSES" --capacity "$CAPACITY"

export BENCH_DIR=$PWD/bench BENCH_DATA=$tmp/data BENCH_THREADS=$THREADS

cpu_ticks() { # utime + stime of the server, in clock ticks (/proc/PID/stat 14, 15)
	local stat
	stat=$(cat "/proc/$server/stat") || die "server (pid $server) is gone"
	stat=${stat##*) }              # drop "pid (comm) "; field 3 is now $1
	set -- $stat
	echo $(( ${12} + ${13} ))
}
CLK_TCK=$(getconf CLK_TCK)

# run_wrk SCRIPT SECONDS: one wrk run; checks it and leaves its BENCH line in $bench_line.
run_wrk() {
	local script=$1 secs=$2 out="$tmp/wrk.out"
	if ! wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout "${TIMEOUT}s" \
	     -s "bench/$script.lua" "$url" >"$out" 2>&1; then
		cat "$out" >&2; die "$script: wrk failed"
	fi
	bench_line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "$script: no BENCH line"; }
	local bad=""
	grep -q 'Socket errors' "$out" && bad="socket errors"
	[ "$script" != contention ] && grep -q 'Non-2xx' "$out" && bad="$bad non-2xx responses"
	[ "$(field unexpected)" = 0 ] || bad="$bad $(field unexpected) unexpected statuses"
	[ "$(field socket_errors)" = 0 ] || bad="$bad socket errors"
	[ "$(field pairs_exhausted)" = 0 ] || bad="$bad out of (member, class) pairs"
	kill -0 "$server" 2>/dev/null || bad="$bad server died"
	# 503 draining: someone else sent the server SIGTERM/SIGINT (pkill?)
	[[ "$(field codes)" == *draining* ]] && bad="$bad (503 draining: the server was signalled to stop by another process)"
	if [ -n "$bad" ]; then
		cat "$out" >&2
		echo "--- server log (last 20 lines)" >&2; tail -n 20 "$tmp/server.log" >&2
		die "$script: $bad"
	fi
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$bench_line"; }

if [ "$PRELOAD" -gt 0 ]; then
	echo "bench: preloading $PRELOAD reservations (booking scenario until that many pairs are used)"
	t0=$SECONDS
	while [ "$(cat "$tmp/data/pairs.next")" -lt "$PRELOAD" ]; do
		run_wrk booking 30
		echo "  $(cat "$tmp/data/pairs.next") pairs used, $(field rps) req/s, p99 $(field p99_us) us"
	done
	echo "bench: preload done in $((SECONDS - t0)) s"
fi

raw=$tmp/raw.tsv
printf 'scenario\trep\trps\tp50_us\tp99_us\tcpu_us\tbase_rps\tbase_p50_us\tbase_p99_us\tbase_cpu_us\tstatuses\tcodes\n' >"$raw"
for scenario in $SCENARIOS; do
	for rep in $(seq "$REPS"); do
		row=()
		for script in healthz "$scenario"; do
			run_wrk "$script" "$WARMUP"
			before=$(cpu_ticks)
			run_wrk "$script" "$DURATION"
			after=$(cpu_ticks)
			requests=$(field requests)
			cpu_us=$(( (after - before) * 1000000 / CLK_TCK / (requests > 0 ? requests : 1) ))
			row+=("$(field rps)" "$(field p50_us)" "$(field p99_us)" "$cpu_us")
		done
		# the scenario first, then its baseline
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$rep" \
			"${row[@]:4:4}" "${row[@]:0:4}" "$(field statuses)" "$(field codes)" >>"$raw"
		printf '  %-10s rep %d: %8.0f req/s  p50 %6d us  p99 %6d us  %5d cpu us/req  (healthz %6.0f req/s)  %s %s\n' \
			"$scenario" "$rep" "${row[4]}" "${row[5]}" "${row[6]}" "${row[7]}" "${row[0]}" \
			"$(field statuses)" "$(field codes)"
	done
done

stop_server
[ "$server_status" = 0 ] || die "the server did not stop cleanly"
warns=$(grep -c . "$tmp/server.log" || true)
[ "$warns" = 0 ] || { echo "bench: the server logged $warns lines at warn or above:"; head -n 20 "$tmp/server.log"; }

python3 bench/report.py --raw "$raw" --out bench/results.md \
	--settings "wrk $THREADS threads, $CONNECTIONS connections, ${WARMUP} s warm-up + ${DURATION} s measured, $REPS repetitions, timeout ${TIMEOUT} s; $MEMBERS members x $CLASSES classes (capacity $CAPACITY), contention: 4 classes x 10 places; preload: $PRELOAD reservations; synchronous=FULL, log level warn" \
	--server-log-lines "$warns"
