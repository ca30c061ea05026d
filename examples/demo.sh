#!/usr/bin/env bash
# The main job, end to end: build the static multi-call binary, link its two names to it (as an
# installation does), then start, check, reload and stop a real daemon with them, printing each
# status. Runs as any user; needs only cargo.
#
#   bash examples/demo.sh
set -u
cd "$(dirname "$0")/.."

cargo build --release --quiet -p ucw-daemon-tools --bin ucw-daemon || exit 1
work=$(mktemp -d /tmp/ucw-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=$work/bin
mkdir "$bin" && cp target/release/ucw-daemon "$bin/" || exit 1
ln "$bin/ucw-daemon" "$bin/ucw-daemon-control" && ln "$bin/ucw-daemon" "$bin/ucw-daemonize" || exit 1
pid_file=$work/demo.pid
log=$work/demo.log

# The daemon: a plain foreground shell loop that logs SIGHUP and exits on SIGTERM.
# ucw-daemonize puts it under the protocol: it forks, writes and locks the PID file.
# It touches a ready file once its traps are set, so the reload below cannot arrive earlier.
ready=$work/ready
program=(sh -c 'trap "echo reload received >> '"$log"'" HUP; trap "exit 0" TERM; : > '"$ready"'; while :; do sleep 0.2; done')

meaning() {
    case $1 in
        0) echo "OK" ;;
        1) echo "bad usage" ;;
        100) echo "ALREADY_DONE" ;;
        101) echo "NOT_RUNNING" ;;
        102) echo "ERROR" ;;
        103) echo "STALE" ;;
        *) echo "unexpected" ;;
    esac
}

step() {
    local title=$1 expected=$2
    shift 2
    "$@"
    local code=$?
    printf '%-34s exit %3d  %-12s' "$title" "$code" "$(meaning "$code")"
    if [ "$code" = "$expected" ]; then echo " (as expected)"; else echo " (expected $expected)"; failed=1; fi
}

failed=0
control=("$bin/ucw-daemon-control" --pid-file "$pid_file")
step "check before start"              101 "${control[@]}" --check
step "start"                           0   "${control[@]}" --start -- "$bin/ucw-daemonize" --pid-file "$pid_file" -- "${program[@]}"
echo "    PID file says: $(cat "$pid_file")"
step "check"                           0   "${control[@]}" --check
step "start again"                     100 "${control[@]}" --start -- "$bin/ucw-daemonize" --pid-file "$pid_file" -- "${program[@]}"
for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.1; done
step "reload (SIGHUP)"                 0   "${control[@]}" --reload
for _ in $(seq 50); do [ -s "$log" ] && break; sleep 0.1; done
echo "    daemon log: $(cat "$log" 2>/dev/null || echo '(nothing yet)')"
step "stop"                            0   "${control[@]}" --stop --timeout 5
step "check after stop"                101 "${control[@]}" --check
step "stop again"                      100 "${control[@]}" --stop
echo "    PID file after stop: $(wc -c < "$pid_file") bytes (emptied, never unlinked)"
if [ $failed = 0 ]; then echo "demo: all steps behaved as expected"; else echo "demo: some steps did not behave as expected"; fi
exit $failed
