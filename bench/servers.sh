# shellcheck shell=bash
# bench/servers.sh: the server suite of bench/run, sourced by it. The echo
# servers (the C epoll reference, loopback serve, fortio, socat, inetd's
# built-in echo) under the same load from bench/ref/load.c (and, for a second
# bulk row, bench/ref/stream.c), each figure also as a ratio to the C
# reference measured in the same run. Servers start once, on first use, via
# `server NAME` (bench/scenarios.sh) and serve every run, except where memory
# or start-up is measured: those get a fresh process.
#
# To add a measure: register its scenario with `sscenario` (runs in this
# order) and its rows with `srow` (the table keeps that order), and write
# `srv_ID PEER`, which prints "KEY=VALUE ..." for the rows (or "skip REASON");
# a goal is one more goal_line in `server_goals`.

declare -a SSCN_IDS=() SROW_IDS=()
declare -A SSCN_PEERS=() SROW_LABEL=() SROW_UNIT=() SROW_DEC=() SROW_DETAIL=()
declare -A SV=() SNOTE=() SSKIP=() SFAILED=()

# The peers, in table order; the first is the reference every ratio divides by.
PEERS=(c-echo lb fortio socat inetd)
declare -A PEER_LABEL=(
  [c-echo]='C epoll echo (reference)' [lb]='loopback serve' [fortio]='fortio tcp-/udp-echo'
  [socat]='socat (fork per conn)' [inetd]='inetd built-in echo' [go-probe]='Go probe -c 16 -> C echo'
)

# sscenario ID [PEER...]: a scenario, run against these peers (default all).
sscenario() {
  local id=$1
  shift
  SSCN_IDS+=("$id")
  SSCN_PEERS[$id]=${*:-${PEERS[*]}}
}

# srow SCN.KEY LABEL UNIT DECIMALS [detail]: a table row showing KEY of
# scenario SCN for each of its peers; "detail" adds its p50, p99 and the CPU
# use of server and client.
srow() {
  SROW_IDS+=("$1")
  SROW_LABEL[$1]=$2 SROW_UNIT[$1]=$3 SROW_DEC[$1]=$4 SROW_DETAIL[$1]=${5:-}
}

# only_scenarios LIST: keeps only the scenarios in LIST (BENCH_SERVER_ONLY),
# still in table order; the table and the goal lines then show only theirs.
only_scenarios() {
  local id kept=()
  for id in $1; do
    [ -n "${SSCN_PEERS[$id]+set}" ] ||
      { echo "bench/run: BENCH_SERVER_ONLY: no scenario \"$id\"; there are: ${SSCN_IDS[*]}" >&2 && exit 2; }
  done
  for id in "${SSCN_IDS[@]}"; do
    [[ " $1 " == *" $id "* ]] && kept+=("$id")
  done
  SSCN_IDS=("${kept[@]}")
}
picked() { [[ " ${SSCN_IDS[*]} " == *" $1 "* ]]; }

sscenario rtt1
sscenario tcp16 "${PEERS[@]}" go-probe
sscenario tcp100
sscenario udp16
sscenario conn
sscenario bulk
sscenario stream c-echo lb
sscenario idle
sscenario ready

srow rtt1.p50 'RTT p50, 1 TCP conn' us 1 detail
srow tcp16.rps 'round trips/s, 16 TCP conns' rt/s 0 detail
srow tcp16.cpu 'server CPU/round trip, 16 conns' us/rt 2
srow tcp100.rps 'round trips/s, 100 TCP conns' rt/s 0 detail
srow tcp100.p99 'p99 RTT, 100 TCP conns' us 0
srow tcp100.cpu 'server CPU/round trip, 100 conns' us/rt 2
srow udp16.rps 'UDP datagrams/s, 16 sockets' dgram/s 0 detail
srow conn.rps 'connect+echo+close /s, 4 at a time' conn/s 0 detail
srow conn.cpu 'server CPU per connection' us/conn 1
srow bulk.gbps 'bulk echo, 1 conn, 64 KiB writes' Gbit/s 2 detail
srow stream.gbps 'bulk echo, 1 conn, 2-thread blocking' Gbit/s 2 detail
srow idle.mib 'RSS growth, IDLE idle TCP conns' MiB 1
srow idle.kib 'RSS per idle TCP conn' KiB 2
srow ready.ms 'ready line, median of READY starts' ms 2

# server_of PEER PROTO: the `server` name of PEER for PROTO.
server_of() {
  case $1 in
    fortio | socat) echo "$1-$2" ;;
    go-probe) echo c-echo ;;
    *) echo "$1" ;;
  esac
}

# idle_conns sets IDLE_N: BENCH_IDLE_CONNS, or fewer if this machine's limits
# do not allow it (IDLE_WHY says which). The load client holds one socket per
# connection and the server one more, each in its own process, so each needs
# N descriptors under its own limit; the client's N connections to one port
# each take a local port.
idle_conns() {
  local nofile ports lo hi
  IDLE_N=$IDLE_CONNS IDLE_WHY=
  nofile=$(ulimit -n)
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  ports=$((hi - lo + 1))
  if [ "$nofile" != unlimited ] && ((nofile - 100 < IDLE_N)); then
    IDLE_N=$((nofile - 100)) IDLE_WHY="open-file limit $nofile per process"
  fi
  if ((ports - 1000 < IDLE_N)); then
    IDLE_N=$((ports - 1000)) IDLE_WHY="$ports local ports"
  fi
  raw "idle connections: $IDLE_N${IDLE_WHY:+ (fewer than $IDLE_CONNS: $IDLE_WHY)}; open-file limit $nofile"
}

# smeasure SCN PEER RUN: runs srv_SCN PEER and records its KEY=VALUE output
# as SV[SCN.KEY/PEER/RUN]. The reason for a skip or a failure goes into the
# table; a scenario that skipped, or failed twice, is not tried again (a
# failure can take the whole 20 s the load client gives connecting).
smeasure() {
  local scn=$1 peer=$2 run=$3 out kv why rc=0
  # shellcheck disable=SC2206 # a list of run numbers
  local failed=(${SFAILED[$scn/$peer]:-})
  [ -n "${SSKIP[$scn/$peer]:-}" ] || ((${#failed[@]} >= 2)) && return 0
  raw "run=$run suite=server scenario=$scn server=$peer"
  "srv_$scn" "$peer" >"$TMP/m.out" 2>"$TMP/m.err" || rc=$?
  if ((rc != 0)); then
    why=$(grep -v '^usage:\|^  -' "$TMP/m.err" | tail -1 | sed 's/^load: //; s/^ready: //')
    failed+=("$run")
    SFAILED[$scn/$peer]=${failed[*]}
    why="${why:-exit status $rc, no message}"
    if ((${#failed[@]} > 1)); then why="runs ${failed[0]} and $run failed: $why"; else why="run $run failed: $why"; fi
    SNOTE[$scn/$peer]=$why
    warn "run $run $scn ${PEER_LABEL[$peer]}: $(tail -3 "$TMP/m.err" | tr '\n' ' ')"
    return 0
  fi
  out=$(cat "$TMP/m.out")
  if [[ $out == skip* ]]; then
    SNOTE[$scn/$peer]=${out#skip }
    SSKIP[$scn/$peer]=1
    return 0
  fi
  for kv in $out; do
    isnum "${kv#*=}" && SV[$scn.${kv%%=*}/$peer/$run]=${kv#*=}
  done
  raw "  => $out"
}

# --- measuring ---------------------------------------------------------------

# load_server NAME ARGS...: runs the load client with ARGS against server
# NAME, reading the server's CPU time before and after; prints the figures:
# rps (round trips, datagrams or connections per second), p50 and p99 (µs),
# gbps, cpu (server CPU µs per round trip or connection, over every one the
# client did, warm-up and set-up included), srv and cli (CPU time of server
# and client as % of one core over the client's run).
load_server() { client_server "$1" load "${@:2}"; }

# client_server NAME CLIENT ARGS...: load_server with another client from
# ref/ that takes -t and -w and prints the same JSON keys (stream).
client_server() {
  local name=$1 client=$2 spid c0 c1 out
  shift 2
  server "$name" || return 1
  spid=$(main_pid "${SRV_PID[$name]}") || { echo "no process under pid ${SRV_PID[$name]}" >&2; return 1; }
  c0=$(cpu_ticks "$spid")
  out=$(bounded "$OUT/$client" -t "$SSECS" -w "$SWARM" "$@" 127.0.0.1 "$PORT") || return 1
  c1=$(cpu_ticks "$spid")
  raw "  $out"
  raw "  server pid $spid: $((c1 - c0)) CPU ticks of 1/$CLK_TCK s"
  local rps total
  rps=$(json_num "$out" rps)$(json_num "$out" cps)
  total=$(json_num "$out" total_round_trips)$(json_num "$out" total_connections)
  awk -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" -v el="$(json_num "$out" elapsed_s)" -v cli="$(json_num "$out" cpu_s)" \
    -v rps="$rps" -v total="$total" -v p50="$(json_num "$out" p50_us)" -v p99="$(json_num "$out" p99_us)" \
    -v gbps="$(json_num "$out" gbps)" 'BEGIN {
      s = ticks / hz
      if (rps != "") printf "rps=%s p50=%s p99=%s ", rps, p50, p99
      if (total > 0) printf "cpu=%.4f ", s * 1e6 / total
      if (gbps != "") printf "gbps=%s ", gbps
      printf "srv=%.1f cli=%.1f\n", 100 * s / el, 100 * cli / el
    }'
}

# go_probe: the same 16 connections from loopback probe --concurrency 16, a
# goroutine per connection, against the C reference: what a Go client gets
# out of the server the load client saturates.
go_probe() {
  local spid c0 c1 out t0
  server c-echo || return 1
  spid=$(main_pid "${SRV_PID[c-echo]}") || return 1
  c0=$(cpu_ticks "$spid")
  t0=$EPOCHREALTIME
  out=$(bounded "$LB" probe "tcp://127.0.0.1:$PORT" --concurrency 16 --duration "${SSECS}s" --warmup 100 \
    --json --log-level warn) || return 1
  c1=$(cpu_ticks "$spid")
  raw "  $out"
  awk -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" -v el="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" \
    -v rps="$(json_num "$out" round_trips_per_s)" -v p50="$(probe_pct "$out" p50)" -v p99="$(probe_pct "$out" p99)" \
    'BEGIN { printf "rps=%s p50=%s p99=%s srv=%.1f\n", rps, p50, p99, 100 * ticks / hz / el }'
}

srv_rtt1() { load_server "$(server_of "$1" tcp)" -m pingpong -c 1; }
srv_tcp16() {
  if [ "$1" = go-probe ]; then go_probe; else load_server "$(server_of "$1" tcp)" -m pingpong -c 16; fi
}
srv_tcp100() { load_server "$(server_of "$1" tcp)" -m pingpong -c 100; }
srv_udp16() { load_server "$(server_of "$1" udp)" -m pingpong -u -c 16; }
# Four connections at a time: fewer than the smallest listen backlog here
# (socat's 5), so that no server is measured on its SYN-retransmit timer.
srv_conn() { load_server "$(server_of "$1" tcp)" -m connect -c 4; }
srv_bulk() { load_server "$(server_of "$1" tcp)" -m bulk; }
# The same stream from a blocking writer thread and a blocking reader thread
# (bench/ref/stream.c): with the server's thread, three busy threads.
srv_stream() { client_server "$(server_of "$1" tcp)" stream -W "$STREAM_W" -R "$STREAM_R"; }

# srv_idle PEER: a fresh server, its RSS, IDLE_N connections from the load
# client held open without traffic, the RSS again once the server holds
# them all (counted in /proc/PID/fd) and its RSS has stopped growing.
srv_idle() {
  local name rc=0 spid rss0 rss1 fd0 i prev lpid
  case $1 in
    socat | inetd) echo "skip forks a process per connection: no one RSS to read"; return 0 ;;
  esac
  name=$(server_of "$1" tcp)@idle
  server "$name" || return 1
  spid=$(main_pid "${SRV_PID[$name]}") || { stop_server "$name"; return 1; }
  rss0=$(rss_kib "$spid") fd0=$(fd_count "$spid")
  start_bg idle-load "$TMP/idle.out" "$TMP/idle.err" "$OUT/load" -m idle -c "$IDLE_N" -t 60 127.0.0.1 "$PORT"
  lpid=$BG_PID
  if READY_TRIES=1500 ready "$lpid" has_line "$TMP/idle.out" established; then
    for ((i = 0; i < 500 && $(fd_count "$spid") < fd0 + IDLE_N; i++)); do sleep 0.02; done
    if (($(fd_count "$spid") < fd0 + IDLE_N)); then
      echo "the server holds $(($(fd_count "$spid") - fd0)) of $IDLE_N connections after 10 s" >&2
      rc=1
    fi
    rss1=$(rss_kib "$spid") prev=0
    for ((i = 0; i < 20 && rss1 != prev; i++)); do
      sleep 0.1
      prev=$rss1 rss1=$(rss_kib "$spid")
    done
  else
    rc=1
  fi
  stop_pid "$lpid"
  cat "$TMP/idle.out" "$TMP/idle.err" >>"$RESULTS"
  [ -s "$TMP/idle.err" ] && { cat "$TMP/idle.err" >&2; rc=1; }
  stop_server "$name"
  ((rc == 0)) || return 1
  raw "  server pid $spid: VmRSS $rss0 kB before, $rss1 kB with $IDLE_N connections"
  awk -v a="$rss0" -v b="$rss1" -v n="$IDLE_N" \
    'BEGIN { printf "mib=%.3f kib=%.3f mib10k=%.3f\n", (b - a) / 1024, (b - a) / n, (b - a) / n * 10000 / 1024 }'
}

# srv_ready PEER: wall time from exec to the first line on stdout, over
# READY_STARTS fresh starts (bench/ref/ready.c).
srv_ready() {
  local cmd out
  case $1 in
    c-echo) cmd=("$OUT/echo") ;;
    lb) cmd=("$LB" serve --log-level warn) ;;
    *) echo "skip prints no ready line on stdout"; return 0 ;;
  esac
  out=$(bounded "$OUT/ready" -n "$READY_STARTS" "${cmd[@]}") || return 1
  raw "  $out"
  echo "ms=$(json_num "$out" p50_ms) p99ms=$(json_num "$out" p99_ms)"
}

# --- the table ---------------------------------------------------------------

server_table() {
  local row scn key peer label first v50 v99 srv cli n v rt note r
  local f='%-34s %-24s %10s %-7s %8s %8s %5s %5s %4s %7s  %s\n'
  printf '\nserver suite: medians of %s runs; %s s measured per load row after %s s warm-up; 64-byte payloads unless said\n' \
    "$SRUNS" "$SSECS" "$SWARM"
  printf 'machine: %s CPUs, kernel %s; load client: bench/ref/load.c, one thread, epoll; ratio = median of per-run ratios to the C reference\n' \
    "$(nproc)" "$(uname -r)"
  # shellcheck disable=SC2059 # the format is ours
  printf "$f" measure server value unit 'p50 us' 'p99 us' 'srv%' 'cli%' runs ratio note
  printf '%s\n' "$(printf '%.0s-' {1..126})"
  for row in "${SROW_IDS[@]}"; do
    scn=${row%%.*} key=${row#*.}
    picked "$scn" || continue
    label=${SROW_LABEL[$row]//IDLE/$IDLE_N}
    label=${label//READY/$READY_STARTS}
    first=1
    for peer in ${SSCN_PEERS[$scn]}; do
      # shellcheck disable=SC2207
      local vals=($(values SV "$row" "$peer" "$SRUNS"))
      n=0
      for r in "${vals[@]}"; do isnum "$r" && n=$((n + 1)); done
      # A peer with no figure and no reason has nothing to say here (the Go
      # client's row has no server CPU per round trip).
      ((n == 0)) && [ -z "${SNOTE[$scn/$peer]:-}" ] && [ "$peer" = go-probe ] && continue
      v=$(median "${vals[@]}")
      rt=-
      [ "$peer" != "${PEERS[0]}" ] && rt=$(fmt "$(run_ratio SV "$row/$peer" "$row/${PEERS[0]}" "$SRUNS")" 2 x)
      v50=- v99=- srv=- cli=-
      if [ -n "${SROW_DETAIL[$row]}" ]; then
        v50=$(fmt "$(median $(values SV "$scn.p50" "$peer" "$SRUNS"))")
        v99=$(fmt "$(median $(values SV "$scn.p99" "$peer" "$SRUNS"))")
        srv=$(fmt "$(median $(values SV "$scn.srv" "$peer" "$SRUNS"))" 0 %)
        cli=$(fmt "$(median $(values SV "$scn.cli" "$peer" "$SRUNS"))" 0 %)
        case $scn in bulk | stream) v50=- v99=- ;; esac
      fi
      note=${SNOTE[$scn/$peer]:-}
      if [ "$scn" = idle ] && ((first)) && [ -n "$IDLE_WHY" ]; then
        note="$IDLE_N, not $IDLE_CONNS: the $IDLE_WHY${note:+; $note}"
      fi
      # shellcheck disable=SC2059
      printf "$f" "$( ((first)) && echo "$label")" "${PEER_LABEL[$peer]}" "$(fmt "$v" "${SROW_DEC[$row]}")" \
        "${SROW_UNIT[$row]}" "$v50" "$v99" "$srv" "$cli" "$n/$SRUNS" "$rt" "$note"
      first=0
    done
  done
  printf '\n'
  server_goals
}

# sratio ROW PEER [OTHER]: the median per-run ratio of PEER's ROW to OTHER's
# (default the C reference).
sratio() { run_ratio SV "$1/$2" "$1/${3:-${PEERS[0]}}" "$SRUNS"; }
# sgoal SCN ARGS...: goal_line ARGS, if scenario SCN ran.
sgoal() { if picked "$1"; then goal_line "${@:2}"; fi; }
smedian() { median $(values SV "$1" "$2" "$SRUNS"); }

server_goals() {
  local x='x the C reference' idle
  sgoal tcp16 "load client saturates the C reference, 16 conns" "$(smedian tcp16.srv c-echo)" \
    "% of its one core busy" ge 90 ">= 90%"
  sgoal tcp100 "load client saturates the C reference, 100 conns" "$(smedian tcp100.srv c-echo)" \
    "% of its one core busy" ge 90 ">= 90%"
  sgoal tcp16 "server CPU per round trip, 16 conns" "$(sratio tcp16.cpu lb)" "$x" le 1.10 "<= 1.10x"
  sgoal tcp100 "server CPU per round trip, 100 conns" "$(sratio tcp100.cpu lb)" "$x" le 1.10 "<= 1.10x"
  sgoal tcp16 "round trips/s, 16 conns" "$(sratio tcp16.rps lb)" "$x" ge 0.90 ">= 0.90x"
  sgoal tcp100 "round trips/s, 100 conns" "$(sratio tcp100.rps lb)" "$x" ge 0.95 ">= 0.95x"
  sgoal tcp100 "p99 RTT, 100 conns" "$(sratio tcp100.p99 lb)" "$x" le 1.50 "<= 1.50x"
  sgoal rtt1 "RTT p50, 1 conn" "$(sratio rtt1.p50 lb)" "$x" le 1.10 "<= 1.10x"
  sgoal udp16 "UDP datagrams/s, 16 sockets" "$(sratio udp16.rps lb)" "$x" ge 1.00 ">= 1.00x"
  sgoal conn "connections/s" "$(sratio conn.rps lb)" "$x" ge 0.85 ">= 0.85x"
  sgoal bulk "bulk Gbit/s" "$(sratio bulk.gbps lb)" "$x" ge 1.00 ">= 1.00x"
  sgoal stream "bulk Gbit/s, 2-thread blocking client" "$(sratio stream.gbps lb)" "$x" ge 1.00 ">= 1.00x"
  idle=" MiB RSS growth"
  ((IDLE_N < 10000)) && idle=" MiB RSS growth (from $IDLE_N connections, times 10000/$IDLE_N)"
  sgoal idle "10,000 idle TCP conns" "$(smedian idle.mib10k lb)" "$idle" le 40 "<= 40 MiB"
  sgoal tcp16 "round trips/s, 16 conns, vs fortio" "$(sratio tcp16.rps lb fortio)" "x fortio tcp-echo" ge 1.5 ">= 1.5x"
  sgoal tcp16 "round trips/s, 16 conns, vs socat" "$(sratio tcp16.rps lb socat)" "x socat" ge 3 ">= 3x"
  sgoal ready "serve ready line" "$(smedian ready.ms lb)" " ms median from exec" le 10 "<= 10 ms"
}
