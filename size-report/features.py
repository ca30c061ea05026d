#!/usr/bin/env python3
"""What a feature costs: the edits that take one feature of the tools out of a *scratch copy*
of the sources (size-report/run builds each copy in a target dir of its own and reports the
difference to the shipped binaries). The real sources are never touched.

Usage:
  features.py list               one line per variant: name<TAB>tool<TAB>what it removes
  features.py apply TREE NAME    edits the copy at TREE (NAME may be "all")

Each edit replaces a text that must occur exactly once in its file; when the sources change
so that it does not, `apply` fails naming it (exit 1) and size-report/run reports the row as
NOT MEASURED: update the edit here.

A variant removes the feature's option (its parse arm refuses it as a usage error), every use
site that would otherwise keep its code reachable, and its `--help` lines. What stays: the
option's name in the option table (a few bytes) and its sentences in the packed error table
(error.rs keeps every message, whichever tool links it; the ledger's "unused templates" counts
those).
"""
import os
import sys

DAEMONIZE = "src/tool/daemonize.rs"
DAEMONIZE_BIN = "src/bin/ucw-daemonize.rs"
CONTROL_LINE = "src/tool/control_line.rs"
CONTROL_BIN = "src/bin/ucw-daemon-control.rs"
CONTROL_MOD = "src/control/mod.rs"

VARIANTS = {
    "readiness": (
        "ucw-daemonize",
        "`--notify-fd` and `--notify-socket`: the readiness pipe and the sd_notify socket "
        "(bind, `SO_PASSCRED`, `recvmsg`, the datagram check), `NOTIFY_SOCKET` in the "
        "environment, the waits for readiness in the supervisor",
        [
            (DAEMONIZE,
             "            6 => match parse_decimal(value.to_bytes(), i32::MAX as u64) {\n"
             "                Some(number) if number >= 3 => request.notify = Notify::Descriptor(number as u32),\n"
             "                _ => return Err(UsageError::BadDescriptor(name, value)),\n"
             "            },\n"
             "            7 => request.notify = Notify::Socket,\n",
             "            6 | 7 => return Err(UsageError::MissingProgram),\n"),
            (DAEMONIZE, "let socket_name = match request.notify {", "let socket_name = match Notify::Exec {"),
            (DAEMONIZE, "        notify: request.notify,\n", "        notify: Notify::Exec,\n"),
            (DAEMONIZE, "let (readiness, notify_writer) = match self.notify {",
             "let (readiness, notify_writer) = match Notify::Exec {"),
            (DAEMONIZE, "= (notify, self.notify) {", "= (notify, Notify::Exec) {"),
            (DAEMONIZE_BIN, "  --notify-fd N       ready when PROGRAM writes a newline to descriptor N\n", ""),
            (DAEMONIZE_BIN, "  --notify-socket     ready when PROGRAM sends READY=1 to $NOTIFY_SOCKET\n", ""),
        ],
    ),
    "outputs": (
        "ucw-daemonize",
        "`--stdout FILE` and `--stderr FILE`: the checked open (`O_NOFOLLOW`, `fstat`: one "
        "link, owner, FIFO, device) and the parse arms",
        [
            (DAEMONIZE,
             "            8 => request.stdout = Some(value),\n"
             "            9 => request.stderr = Some(value),\n",
             "            8 | 9 => return Err(UsageError::MissingProgram),\n"),
            (DAEMONIZE,
             "        open_output(request.stdout, Subject::OutputFile, target_uid),\n"
             "        open_output(request.stderr, Subject::ErrorFile, target_uid),\n",
             "        Ok::<_, Error>(None::<OwnedFd>),\n"
             "        Ok::<_, Error>(None::<OwnedFd>),\n"),
            (DAEMONIZE_BIN, "  --stdout FILE       append PROGRAM's standard output to FILE\n", ""),
            (DAEMONIZE_BIN, "  --stderr FILE       append PROGRAM's standard error to FILE\n", ""),
        ],
    ),
    "restart": (
        "ucw-daemon-control",
        "`--restart`: its parse arm, RESTART's row of the action table (stop, then start with "
        "a deadline of its own, under one hold of the guard) and its words in `--help`",
        [
            (CONTROL_LINE, "            0..=4 => {\n",
             "            2 => return Err(UsageError::MissingAction),\n            0..=4 => {\n"),
            (CONTROL_MOD,
             "        Action::Restart => {\n"
             "            // Never stop a daemon that could not be started again.\n"
             "            if params.program.is_empty() {\n"
             "                return launch::launch(params, deadline).map(|()| Status::Ok);\n"
             "            }\n"
             "            if let PidState::Running(_) | PidState::Busy = state {\n"
             "                stop::stop(params, deadline, inspection)?;\n"
             "            }\n"
             "            // The start gets a deadline of its own.\n"
             "            launch::launch(params, &Deadline::start(params.timeout)).map(|()| Status::Ok)\n"
             "        }\n",
             "        Action::Restart => Ok(Status::NotRunning),\n"),
            (CONTROL_BIN, "--start|--stop|--restart|--check", "--start|--stop|--check"),
            (CONTROL_BIN, " (0.5 works; --restart: each phase)", " (0.5 works)"),
            (CONTROL_BIN, "--stop, --restart: then SIGKILL", "--stop: then SIGKILL"),
        ],
    ),
    "verbose": (
        "ucw-daemon-control",
        "`--verbose`: its parse arm, `say` (the PID file looked up again under the guard, the "
        "line for each action and status) and its `--help` line",
        [
            (CONTROL_LINE, "            10 => verbose = true,\n",
             "            10 => return Err(UsageError::MissingAction),\n"),
            (CONTROL_BIN, "        if request.verbose {\n", "        if false && request.verbose {\n"),
            (CONTROL_BIN, "  --verbose             say what was seen or done\n", ""),
        ],
    ),
}


def apply(tree, name):
    tool, _, edits = VARIANTS[name]
    for file, old, new in edits:
        path = os.path.join(tree, file)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        count = text.count(old)
        if count != 1:
            first = old.strip().splitlines()[0]
            sys.exit(f"features.py: variant {name}: {file} contains `{first}` {count} times, "
                     "not once: update size-report/features.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.replace(old, new))


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "list":
        for name, (tool, what, _) in VARIANTS.items():
            print(f"{name}\t{tool}\t{what}")
        print("all\tboth\tall four of them at once")
        return
    if len(sys.argv) == 4 and sys.argv[1] == "apply":
        tree, name = sys.argv[2], sys.argv[3]
        names = list(VARIANTS) if name == "all" else [name]
        for each in names:
            if each not in VARIANTS:
                sys.exit(f"features.py: no variant {each}")
            apply(tree, each)
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
