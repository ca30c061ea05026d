/*
 * ucw/daemon.h -- LibUCW's daemonization helper and daemon-control protocol,
 * implemented by ucw-daemon (link with libucw_daemon_capi.a).
 *
 * Source compatibility: a C program written for LibUCW's <ucw/daemon.h> compiles
 * against this header unchanged, as long as all it takes from the rest of LibUCW
 * is what our <ucw/lib.h> offers (uint, NONRET, UNUSED, FORMAT_CHECK, die()).
 * The structures have LibUCW's members, in LibUCW's
 * order, with LibUCW's types (so sizes and offsets are LibUCW's); the enumerations
 * have LibUCW's names and values; the six functions have LibUCW's signatures.
 * capi/tests/abi_check.c pins all of that down with static assertions.
 *
 * Where this header differs from LibUCW's:
 *  - enum daemon_control_status is defined before daemon_control() returns it
 *    (LibUCW declares the function first: a forward reference to an enum that
 *    ISO C forbids and C++ rejects).  The header compiles as C99/C11 and C++11.
 *  - It includes <ucw/lib.h> itself (LibUCW's expects the includer to have done
 *    so, for `uint`).  Our <ucw/lib.h> is a small stand-in, not LibUCW's.
 *  - The functions are exported under their plain names only: this header does
 *    not honour CONFIG_UCW_CLEAN_ABI (LibUCW's switch that renames them to
 *    ucw_daemon_*).
 *
 * Where the implementation differs from LibUCW's, and why, is said at each
 * function below.  In short:
 *  - user and group names are looked up in /etc/passwd and /etc/group only (no
 *    NSS: no LDAP, no systemd-userdb); "#uid" and "#gid" are parsed as numbers
 *    (LibUCW hands the '#' to its number parser, so they never parse);
 *  - switching to a user always resets the supplementary groups; the switch
 *    happens in the daemon child only, never in the calling process;
 *  - the PID file is created with mode 0600, and is emptied, never unlinked;
 *  - daemon_control() signals a process only once it has proven that the process
 *    holds the PID file's lock (through a pidfd), and STOP waits for the lock;
 *  - a process daemonizes at most once; daemon_run() forks with the program's
 *    own libc fork(); the functions are not thread-safe (as LibUCW's are not:
 *    a call while another one runs in another thread is a fatal error);
 *  - error_msg is NUL-terminated on every return of daemon_control().
 *
 * Fatal errors: where LibUCW calls die(), this library writes the message and a
 * newline to standard error (file descriptor 2, in one write()) and calls the
 * program's exit(1), as LibUCW's die() does.  It does not call the die() of
 * <ucw/lib.h>.  Calling the functions in an order this header does not allow
 * (daemon_run() without daemon_init(), a second daemon_init(), ...) or with a
 * NULL dp is a fatal error too.  An internal error of the library (a Rust
 * panic) prints "ucw-daemon: internal error (panic at FILE:LINE)" and exit(1)s
 * the same way; it never unwinds into the program.
 *
 * Linking: cc -I capi/include prog.c libucw_daemon_capi.a.  The library takes
 * from the program's C library only fork, exit, environ, __errno_location (the
 * errno of a failed fork()) and memcpy, memmove, bcmp, strlen (capi/README.md).
 */

#ifndef _UCW_DAEMON_H
#define _UCW_DAEMON_H

#include <ucw/lib.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*** The daemonization helper ***/

/*
 * Parameters of the daemon helper.  Fill in the public members (zero the rest, for
 * example with a designated initializer) and pass the same structure to every
 * daemon_* call, from daemon_init() to daemon_exit().  The strings it points to
 * must stay valid and unchanged until daemon_exit() (error messages name them).
 * flags is read by daemon_init(); changing it later has no effect.
 */
struct daemon_params {
  uint flags;                   /* DAEMON_FLAG_* bits */
  const char *pid_file;         /* PID file path, or NULL for none */
  const char *run_as_user;      /* user name or "#uid", or NULL to keep the user */
  const char *run_as_group;     /* group name or "#gid", or NULL */

  /*
   * Internal: written by daemon_resolve_ugid(), daemon_init(), daemon_run() and
   * daemon_exit() for the program to read; the library itself never reads them
   * (the resolved credentials and the PID file live in a process-wide slot, see
   * daemon_init()), so setting them changes nothing.  As in LibUCW the group id
   * is declared uid_t (on Linux uid_t and gid_t are both 32-bit unsigned).
   */
  uid_t run_as_uid;             /* the uid to switch to, when want_setuid */
  uid_t run_as_gid;             /* the gid to switch to, when want_setgid */
  int want_setuid;              /* 1: the uid changes */
  int want_setgid;              /* 1: to run_as_group; 2: to the user's passwd gid */
  int pid_fd;                   /* the descriptor holding the PID file's lock: set by
                                   daemon_init() and in the daemon, -1 without a PID
                                   file, in the launcher after daemon_run() and after
                                   daemon_exit() */
};

/* Bits of daemon_params.flags; the other bits are reserved (daemon_init() fails). */
enum daemon_flags {
  DAEMON_FLAG_PRESERVE_CWD = 1, /* stay in the current directory (no chdir("/")) */
  DAEMON_FLAG_SIMULATE = 2,     /* do not daemonize: the body runs in this process */
};

/*
 * Prepare to daemonize; call it after parsing the options.  Resolves run_as_user
 * and run_as_group (daemon_resolve_ugid()), then opens the PID file (created with
 * mode 0600; it must be a regular file with exactly one link, owned by the
 * effective user and not writable by group or others -- a hard link, someone
 * else's file, is refused unchanged), locks it with flock() -- a lock held by someone
 * else means "already running" -- and writes "(starting)\n" into it.  A relative
 * PID file path is refused unless DAEMON_FLAG_PRESERVE_CWD is set.  Descriptors
 * 0, 1 and 2 are first opened on /dev/null if they are closed, so that the PID
 * file never lands on one of them.  With DAEMON_FLAG_SIMULATE it only resolves the
 * user and group.  A fatal error on any failure (see the top of this file).
 *
 * One daemonization per process: the resolved supplementary groups (room for
 * NGROUPS_MAX of them, about 260 KiB of .bss) and the locked PID file do not fit
 * in struct daemon_params and live in one process-wide slot, so daemon_init() may
 * be called once per process; a second call is a fatal error.
 */
void daemon_init(struct daemon_params *dp);

/*
 * Fork off the daemon; call it once everything is initialized, before the program
 * starts any thread (a process with more than one thread, as /proc/self/status
 * counts them, is a fatal error).  The fork is the program's libc fork() (its
 * atfork handlers run, and the child's libc state is right).  A fatal error without
 * a daemon_init() before, or on a second call.
 *
 * In the child: a new session (setsid()), the user and group switch
 * (daemon_switch_ugid()), standard input and output from/to /dev/null (standard
 * error is left as it is), umask(022), chdir("/") unless DAEMON_FLAG_PRESERVE_CWD.
 * The child then waits until the parent has written its PID into the PID file,
 * calls body(dp) and, when body returns, exit(0) (the program's: atexit handlers
 * run, stdio is flushed).  If body returns without having called daemon_exit(),
 * the PID file is released first, as daemon_exit() would (LibUCW leaves the PID
 * in it, which a later CHECK reports as stale).  If the parent dies before
 * writing the PID, the child exits without running body.  The signal mask and
 * dispositions are inherited unchanged: block the signals the daemon waits for
 * before calling daemon_run(), so that one sent while the daemon starts is queued
 * instead of killing it.
 *
 * In the parent: waits until the child has reported its setup; on success writes
 * "<pid>\n" into the PID file, closes its descriptor of it and returns; if the
 * child's setup failed, empties the PID file and ends with the child's error as a
 * fatal error.  The parent keeps its own user, group, session, standard streams,
 * umask and directory (LibUCW changes all of them in the parent before forking).
 *
 * With DAEMON_FLAG_SIMULATE: calls body(dp) in this process and returns when it
 * returns (no fork, no files, no switch).
 */
void daemon_run(struct daemon_params *dp, void (*body)(struct daemon_params *dp));

/*
 * Release the PID file when the daemon is about to exit: empties it (truncates it
 * to zero bytes), unlocks it (flock(LOCK_UN): children the daemon forked cannot
 * keep it locked) and closes it; a fatal error if the truncation fails, as in
 * LibUCW.  The file is never unlinked (LibUCW's documentation says "removes";
 * unlinking would let a second daemon lock a new file of the same name while
 * this one still runs).  Called after daemon_init() but before daemon_run(), it
 * releases the PID file the same way (and daemon_run() is then a fatal error).
 * Does nothing with DAEMON_FLAG_SIMULATE, without a PID file, and in the
 * launcher after daemon_run().
 */
void daemon_exit(struct daemon_params *dp);

/*
 * Resolve run_as_user and run_as_group into the internal members (and the
 * process-wide supplementary group list).  daemon_init() calls it; call it
 * yourself only to use daemon_switch_ugid() without daemonizing.  A fatal error
 * when a name is unknown or a number does not parse, and after daemon_init()
 * (the resolved credentials are then in use and stay as they are).
 *
 * A name is looked up in /etc/passwd or /etc/group (first match wins; no NSS).
 * "#uid" and "#gid" are decimal ids and need no entry, but "#uid" without an entry
 * in /etc/passwd needs run_as_group.  Ids above 4294967294 are refused (-1 means
 * "no change" to the kernel).  The groups after the switch: with a user, the
 * primary gid (run_as_group if given, else the user's passwd gid) plus every
 * group of /etc/group listing the user; with a group only, just that group.
 * (LibUCW keeps the caller's supplementary groups when run_as_group is given.)
 */
void daemon_resolve_ugid(struct daemon_params *dp);

/*
 * Switch to the user and group resolved by daemon_resolve_ugid(), which must have
 * been called first (without it, nothing is switched, as in LibUCW):
 * setgroups(), then setresgid(), then setresuid(); ambient
 * capabilities are cleared and, when leaving root, the switch is verified to be
 * irreversible.  daemon_run() does this in the daemon child.  Refused (a fatal
 * error) in a process with more than one thread: the raw system calls change only
 * the calling thread.
 */
void daemon_switch_ugid(struct daemon_params *dp);

/*** Daemon control ***/

/* Size of daemon_control_params.error_msg, including the terminating NUL. */
#define DAEMON_ERR_LEN 256

/* Parameters of daemon_control(). */
struct daemon_control_params {
  const char *pid_file;         /* the daemon's PID file */
  const char *guard_file;       /* the guard file, created (mode 0600) if missing */
  int action;                   /* DAEMON_CONTROL_* */
  char * const *argv;           /* START: the daemon's command, NULL-terminated */
  int signal;                   /* STOP, SIGNAL: the signal, or 0 for the default */
  char error_msg[DAEMON_ERR_LEN]; /* out: the message of DAEMON_STATUS_ERROR */
};

/* Values of daemon_control_params.action. */
enum daemon_control_action {
  DAEMON_CONTROL_CHECK = 1,     /* is the daemon running? */
  DAEMON_CONTROL_START,         /* = 2: start it unless it runs */
  DAEMON_CONTROL_STOP,          /* = 3: stop it, wait until it has stopped */
  DAEMON_CONTROL_SIGNAL,        /* = 4: send it a signal */
};

/*
 * What daemon_control() returns.  The same numbers are the exit codes of
 * ucw-daemon-control.
 */
enum daemon_control_status {
  DAEMON_STATUS_OK = 0,             /* done (CHECK: running) */
  DAEMON_STATUS_ALREADY_DONE = 100, /* START: already running; STOP: not running */
  DAEMON_STATUS_NOT_RUNNING = 101,  /* CHECK, SIGNAL: the daemon does not run */
  DAEMON_STATUS_ERROR = 102,        /* failed; error_msg says why */
  DAEMON_STATUS_STALE = 103,        /* a dead daemon's PID file (START: started) */
};

/*
 * Perform dc->action on the daemon of dc->pid_file, serialised against other
 * controllers by an flock() on dc->guard_file:
 *
 *  CHECK   OK when the daemon runs (or is starting), NOT_RUNNING when it does not,
 *          STALE when its PID file was left behind by a dead daemon.
 *  START   runs dc->argv (argv[0] searched in PATH; PATH unset: /bin:/usr/bin)
 *          with the program's environment (environ) unless the daemon runs
 *          (ALREADY_DONE).  OK (or STALE after a stale PID file) only once the
 *          launched program exited 0 and the PID file is locked by the daemon;
 *          an exec failure, a failed launch or a daemon that did not lock its PID
 *          file is an ERROR.  A NULL or empty argv is an ERROR.
 *  STOP    sends dc->signal (default SIGTERM), then SIGCONT, and waits -- without
 *          a time limit -- until the daemon releases the PID file's lock; then
 *          empties the PID file.  ALREADY_DONE when it was not running, STALE
 *          after a stale PID file.
 *  SIGNAL  sends dc->signal (default SIGHUP).  NOT_RUNNING when it does not run
 *          (a stale PID file included).
 *
 * A signal goes only to a process that is proven to hold the PID file's lock:
 * through a pidfd, after checking /proc/<pid>/fdinfo (a PID file naming another
 * process is an ERROR, never a signal to a stranger); without pidfd_open() it
 * falls back to kill(), without /proc to the lock check alone.  A locked PID file
 * containing no valid PID ("-1", "0", garbage) is an ERROR (LibUCW would call
 * kill(-1, sig)).  Any other action number is an ERROR.
 *
 * On every return error_msg holds a NUL-terminated string: for DAEMON_STATUS_ERROR
 * the message ("Cannot open PID file /run/x.pid: EACCES (Permission denied)"),
 * truncated to DAEMON_ERR_LEN - 1 bytes; otherwise the empty string.
 *
 * START's launcher child is a raw clone(), not the program's fork(): it runs no
 * code of the C library (no atfork handlers), only resets the signal mask and
 * dispositions and execs, so daemon_control() may also be called from a
 * multi-threaded program.  It is waited for by its PID: do not set SIGCHLD to
 * SIG_IGN, and let no other thread reap arbitrary children (wait(),
 * waitpid(-1, ...)) meanwhile (START then judges by the PID file alone).  No
 * action has a time limit (LibUCW's have none either; ucw-daemon-control
 * --timeout has): STOP waits as long as the daemon holds the lock.  A NULL
 * pid_file or guard_file, or a signal outside 0-64, is an ERROR.
 */
enum daemon_control_status daemon_control(struct daemon_control_params *dc);

#ifdef __cplusplus
}
#endif

#endif /* _UCW_DAEMON_H */
