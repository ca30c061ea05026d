#!/usr/bin/env python3
"""Counts the system calls in a set of `strace -ff -o PREFIX` files (one file per process).

Usage: tracecount.py PREFIX ROOT_PID [DAEMON_PROGRAM]

Prints key=value lines:
  launch=N     calls made by every traced process that had exited when the trace ended
               (the tool itself, its launcher, intermediate forks); the daemon is excluded
  total=N      calls made by every traced process, the daemon's included up to the moment
               the trace was detached, except what DAEMON_PROGRAM itself did after its
               successful execve (its own start-up is the same under every tool)
  processes=N  traced processes; survivors=N  of them still alive (the daemon)
  rootcount=N  calls made by the root process alone (the tool)
  root=a,b,c   the root process's calls in order (for the report's check breakdown)
Fails (exit 2) when the root's trace is missing or does not show it exiting.
"""
import glob
import re
import sys

SYSCALL = re.compile(r"^([a-z_][a-z0-9_]*)\(")
ENDED = re.compile(r"^\+\+\+ (exited with|killed by) ")


def main():
    prefix, root = sys.argv[1], sys.argv[2]
    program = sys.argv[3] if len(sys.argv) > 3 else None
    program_exec = f'execve("{program}",' if program else None
    launch = total = survivors = processes = 0
    root_calls = None
    root_ended = False
    for path in sorted(glob.glob(glob.escape(prefix) + ".*")):
        pid = path[len(prefix) + 1:]
        calls = []
        ended = False
        in_program = False
        with open(path, encoding="utf-8", errors="replace") as trace:
            for line in trace:
                match = SYSCALL.match(line)
                if match and not in_program:
                    calls.append(match.group(1))
                    if program_exec and line.startswith(program_exec) and line.rstrip().endswith("= 0"):
                        in_program = True
                elif ENDED.match(line):
                    ended = True
        processes += 1
        total += len(calls)
        if ended:
            launch += len(calls)
        else:
            survivors += 1
        if pid == root:
            root_calls, root_ended = calls, ended
    if root_calls is None:
        sys.exit(f"tracecount: no trace for the root process {root} under {prefix}")
    if not root_ended:
        sys.exit(f"tracecount: the trace of {root} does not show it exiting")
    print(f"launch={launch}")
    print(f"total={total}")
    print(f"processes={processes}")
    print(f"survivors={survivors}")
    print(f"rootcount={len(root_calls)}")
    print("root=" + ",".join(root_calls))


if __name__ == "__main__":
    main()
