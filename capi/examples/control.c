/*
 * control -- a small caller of daemon_control(), on ucw-daemon's C ABI.
 *
 *   control ACTION PID_FILE GUARD_FILE [SIGNAL] [-- ARGV...]
 *
 *   ACTION      check, start, stop or signal; or a number, passed to the library
 *               as it is (so that a test can hand it an action it must refuse)
 *   SIGNAL      stop, signal: a signal number, or one of HUP INT QUIT KILL USR1
 *               USR2 ALRM TERM CONT STOP (with or without "SIG"); 0 or absent:
 *               the action's default (SIGTERM for stop, SIGHUP for signal)
 *   -- ARGV...  start: the daemon's command, argv[0] searched in PATH.  Without
 *               "--" dc.argv is NULL; "--" alone gives an empty list.
 *
 * Prints the status name (OK, ALREADY_DONE, NOT_RUNNING, ERROR, STALE) on stdout;
 * for ERROR also "control: <error_msg>" on stderr.  Exits with the status code
 * (0, 100, 101, 102, 103); 1 on bad usage; 2 when the library broke the header's
 * promises (an unknown status, or error_msg not a NUL-terminated string that is
 * empty unless the status is ERROR).
 */

#define _POSIX_C_SOURCE 200809L

#include <ucw/lib.h>
#include <ucw/daemon.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
  "Usage: control check|start|stop|signal|NUMBER PID_FILE GUARD_FILE [SIGNAL] [-- ARGV...]\n";

/* The names the ACTION argument may take. */
static const struct { const char *name; int action; } actions[] = {
  { "check", DAEMON_CONTROL_CHECK },
  { "start", DAEMON_CONTROL_START },
  { "stop", DAEMON_CONTROL_STOP },
  { "signal", DAEMON_CONTROL_SIGNAL },
};

/* The signal names the SIGNAL argument may take, without "SIG". */
static const struct { const char *name; int number; } signals[] = {
  { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
  { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
  { "CONT", SIGCONT }, { "STOP", SIGSTOP },
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Parses a whole decimal int into *value; 0 when it is not one. */
static int parse_int(const char *text, int *value)
{
  char *end;
  errno = 0;
  long number = strtol(text, &end, 10);
  if (errno || end == text || *end || number < INT_MIN || number > INT_MAX)
    return 0;
  *value = (int) number;
  return 1;
}

/* ACTION: a name or a number; 0 when it is neither. */
static int parse_action(const char *text, int *action)
{
  for (size_t i = 0; i < COUNT(actions); i++)
    if (!strcmp(text, actions[i].name))
      {
        *action = actions[i].action;
        return 1;
      }
  return parse_int(text, action);
}

/* SIGNAL: a non-negative number or a name; 0 when it is neither. */
static int parse_signal(const char *text, int *number)
{
  if (parse_int(text, number))
    return *number >= 0;
  const char *name = strncmp(text, "SIG", 3) ? text : text + 3;
  for (size_t i = 0; i < COUNT(signals); i++)
    if (!strcmp(name, signals[i].name))
      {
        *number = signals[i].number;
        return 1;
      }
  return 0;
}

/* The name of a status; NULL for a value the header does not define. */
static const char *status_name(enum daemon_control_status status)
{
  switch (status)
    {
    case DAEMON_STATUS_OK: return "OK";
    case DAEMON_STATUS_ALREADY_DONE: return "ALREADY_DONE";
    case DAEMON_STATUS_NOT_RUNNING: return "NOT_RUNNING";
    case DAEMON_STATUS_ERROR: return "ERROR";
    case DAEMON_STATUS_STALE: return "STALE";
    }
  return NULL;
}

int main(int argc, char **argv)
{
  struct daemon_control_params dc = { 0 };
  if (argc < 4 || !parse_action(argv[1], &dc.action))
    {
      fputs(usage, stderr);
      return 1;
    }
  dc.pid_file = argv[2];
  dc.guard_file = argv[3];

  int next = 4;
  if (next < argc && strcmp(argv[next], "--"))
    {
      if (!parse_signal(argv[next], &dc.signal))
        {
          fprintf(stderr, "control: unknown signal `%s'\n%s", argv[next], usage);
          return 1;
        }
      next++;
    }
  if (next < argc)
    {
      if (strcmp(argv[next], "--"))
        {
          fputs(usage, stderr);
          return 1;
        }
      dc.argv = argv + next + 1;   // NULL-terminated, like argv itself
    }

  // Not NUL anywhere, so that an unterminated message cannot go unnoticed.
  memset(dc.error_msg, 'X', sizeof(dc.error_msg));

  enum daemon_control_status status = daemon_control(&dc);

  const char *name = status_name(status);
  if (!name)
    {
      fprintf(stderr, "control: daemon_control() returned unknown status %d\n", (int) status);
      return 2;
    }
  if (!memchr(dc.error_msg, '\0', sizeof(dc.error_msg)))
    {
      fprintf(stderr, "control: status %s, but error_msg is not NUL-terminated\n", name);
      return 2;
    }
  if (status != DAEMON_STATUS_ERROR && dc.error_msg[0])
    {
      fprintf(stderr, "control: status %s, but error_msg is not empty: %s\n", name, dc.error_msg);
      return 2;
    }

  printf("%s\n", name);
  fflush(stdout);
  if (status == DAEMON_STATUS_ERROR)
    fprintf(stderr, "control: %s\n", dc.error_msg);
  return (int) status;
}
