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
  process=PID parent=PID depth=D calls=N before_exec=M ended=0|1 list=a,b,c
               one line per process in the order they were created (the root first, at
               depth 0, then depth first): its calls as counted in total=, and how many came up to and
               including its first successful execve after its first call (0 without one)
Fails (exit 2) when the root's trace is missing or does not show it exiting.
"""
import glob
import re
import sys

SYSCALL = re.compile(r"^([a-z_][a-z0-9_]*)\(")
ENDED = re.compile(r"^\+\+\+ (exited with|killed by) ")
FORKED = re.compile(r"\)\s+=\s+(\d+)\s*$")


def main():
    prefix, root = sys.argv[1], sys.argv[2]
    program = sys.argv[3] if len(sys.argv) > 3 else None
    program_exec = f'execve("{program}",' if program else None
    launch = total = survivors = processes = 0
    root_calls = None
    root_ended = False
    children = {}
    per_process = {}
    for path in sorted(glob.glob(glob.escape(prefix) + ".*")):
        pid = path[len(prefix) + 1:]
        calls = []
        ended = False
        in_program = False
        before_exec = 0
        with open(path, encoding="utf-8", errors="replace") as trace:
            for line in trace:
                match = SYSCALL.match(line)
                if match and not in_program:
                    calls.append(match.group(1))
                    succeeded = line.rstrip().endswith("= 0")
                    if program_exec and line.startswith(program_exec) and succeeded:
                        in_program = True
                    if match.group(1) == "execve" and succeeded and len(calls) > 1 and not before_exec:
                        before_exec = len(calls)
                    created = FORKED.search(line)
                    if match.group(1) in ("clone", "clone3", "fork", "vfork") and created:
                        children.setdefault(pid, []).append(created.group(1))
                elif ENDED.match(line):
                    ended = True
        per_process[pid] = (calls, before_exec, ended)
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
    # The process tree from the root, depth first, each process's children in the order it
    # made them.
    order = []

    def walk(pid, parent, depth):
        order.append((pid, parent, depth))
        for child in children.get(pid, []):
            if child in per_process:
                walk(child, pid, depth + 1)

    walk(root, None, 0)
    for pid, parent, depth in order:
        calls, before_exec, ended = per_process[pid]
        print(f"process={pid} parent={parent or 0} depth={depth} calls={len(calls)} "
              f"before_exec={before_exec} ended={int(ended)} list={','.join(calls)}")


if __name__ == "__main__":
    main()
