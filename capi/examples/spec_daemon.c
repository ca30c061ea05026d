/*
 * spec_daemon -- LibUCW's example daemon (the daemon_body/main skeleton of its
 * documentation), made complete, on ucw-daemon's C ABI.
 *
 *   spec_daemon PID_FILE [USER [GROUP]]
 *
 *   PID_FILE  the PID file; absolute unless DAEMON_FLAG_PRESERVE_CWD is set; "-" for none
 *   USER      run_as_user: a user name or "#uid"; "-" or absent: keep the user
 *   GROUP     run_as_group: a group name or "#gid"; "-" or absent: none
 *
 * Environment (chosen over more arguments because it passes unchanged through
 * daemon_control()'s START and ucw-daemon-control --start, and keeps USER and
 * GROUP positional as above):
 *
 *   SPEC_DAEMON_LOG    the log file, appended to, created with mode 0644 if missing.
 *                      It is opened by main, before daemon_init(): with the launching
 *                      user's rights and relative to the launching directory, so
 *                      the daemon can still write to it after its switch and its
 *                      chdir("/").  Unset or empty: the log goes to stderr, which
 *                      the daemon keeps.
 *   SPEC_DAEMON_FLAGS  daemon_params.flags as a decimal number (1 PRESERVE_CWD,
 *                      2 SIMULATE, 3 both); unset or empty: 0.
 *
 * The daemon writes one line per event to the log:
 *
 *   start pid=P sid=S uid=U gid=G euid=U egid=G groups=G1,G2,... cwd=DIR
 *   reload                     on each SIGHUP
 *   stop                       on SIGTERM; it then calls daemon_exit() and returns,
 *                              and the library ends the daemon with exit(0)
 *
 * "groups=" lists getgroups() in its order, empty when there are none.  So a test
 * that runs  spec_daemon /run/x.pid '#4242' '#4343'  as root expects
 * "uid=4242 gid=4343 euid=4242 egid=4343 groups=4343".
 *
 * The launching process exits 0 once the daemon is forked off (with
 * DAEMON_FLAG_SIMULATE: once the body has returned), 1 on bad usage, and 1 on
 * any fatal error: die() here, or the library's own fatal errors.
 */

#define _POSIX_C_SOURCE 200809L

#include <ucw/lib.h>
#include <ucw/daemon.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the daemon logs: the SPEC_DAEMON_LOG file, or stderr. */
static FILE *log_stream;

/* The signals the daemon acts on; blocked, and read with sigwait(). */
static sigset_t handled_signals;

/* Writes one formatted line to the log and flushes it. */
static void log_line(const char *fmt, ...) FORMAT_CHECK(printf, 1, 2);

static void log_line(const char *fmt, ...)
{
  va_list args;
  va_start(args, fmt);
  vfprintf(log_stream, fmt, args);
  va_end(args);
  fputc('\n', log_stream);
  fflush(log_stream);
}

/* Logs who and where the daemon is: the line a test checks the switch with. */
static void log_start(void)
{
  fprintf(log_stream, "start pid=%ld sid=%ld uid=%lu gid=%lu euid=%lu egid=%lu groups=",
          (long) getpid(), (long) getsid(0),
          (unsigned long) getuid(), (unsigned long) getgid(),
          (unsigned long) geteuid(), (unsigned long) getegid());

  int count = getgroups(0, NULL);
  gid_t *groups = count > 0 ? malloc((size_t) count * sizeof(*groups)) : NULL;
  if (groups)
    {
      count = getgroups(count, groups);
      for (int i = 0; i < count; i++)
        fprintf(log_stream, "%s%lu", i ? "," : "", (unsigned long) groups[i]);
      free(groups);
    }

  char cwd[4096];
  fprintf(log_stream, " cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
  fflush(log_stream);
}

/* The daemon's code: wait for signals, log reloads, leave cleanly on SIGTERM. */
static void daemon_body(struct daemon_params *dp)
{
  log_start();
  for (;;)
    {
      int signal_number;
      int error = sigwait(&handled_signals, &signal_number);
      if (error)
        {
          log_line("sigwait failed: %s", strerror(error));
          daemon_exit(dp);
          exit(1);
        }
      if (signal_number == SIGHUP)
        log_line("reload");
      else if (signal_number == SIGTERM)
        {
          log_line("stop");
          break;
        }
    }
  // When we are done, release the PID file; returning ends the daemon (exit(0)).
  daemon_exit(dp);
}

/* A command-line value, or NULL for "-". */
static const char *optional_argument(const char *value)
{
  return strcmp(value, "-") ? value : NULL;
}

/* daemon_params.flags from SPEC_DAEMON_FLAGS. */
static uint flags_from_environment(void)
{
  const char *value = getenv("SPEC_DAEMON_FLAGS");
  if (!value || !*value)
    return 0;
  char *end;
  errno = 0;
  unsigned long flags = strtoul(value, &end, 10);
  if (errno || *end || value[0] == '-' || flags > 0xffffffffUL)
    die("Invalid SPEC_DAEMON_FLAGS `%s'", value);
  return (uint) flags;
}

/* Opens the log named by SPEC_DAEMON_LOG, or settles for stderr. */
static void open_log(void)
{
  const char *path = getenv("SPEC_DAEMON_LOG");
  log_stream = stderr;
  if (!path || !*path)
    return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd < 0)
    die("Cannot open log file `%s': %s", path, strerror(errno));
  log_stream = fdopen(fd, "a");
  if (!log_stream)
    die("Cannot open log file `%s': %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
  if (argc < 2 || argc > 4)
    {
      fprintf(stderr, "Usage: spec_daemon PID_FILE [USER [GROUP]]   (\"-\": none)\n");
      return 1;
    }
  struct daemon_params dp = { .pid_file = optional_argument(argv[1]) };
  if (argc > 2)
    dp.run_as_user = optional_argument(argv[2]);
  if (argc > 3)
    dp.run_as_group = optional_argument(argv[3]);
  dp.flags = flags_from_environment();
  open_log();

  // Block the signals the daemon waits for before it exists: the mask survives the
  // fork, so a SIGTERM or SIGHUP sent while the daemon starts is queued for its
  // sigwait() instead of killing it with its PID file still full.
  sigemptyset(&handled_signals);
  sigaddset(&handled_signals, SIGTERM);
  sigaddset(&handled_signals, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &handled_signals, NULL) < 0)
    die("Cannot block SIGTERM and SIGHUP: %s", strerror(errno));

  daemon_init(&dp);

  // ... initialize everything the daemon needs here ...

  // Let us fork off the daemon:
  daemon_run(&dp, daemon_body);

  // Here continues the parent process.
  return 0;
}
