/*
 * lifecycle_check -- the order of the daemon_* calls and what the library does at
 * the edges of the daemon's life, for capi/tests/run.
 *
 *   lifecycle_check return PID_FILE LOG_FILE
 *       daemon_init, an atexit handler, daemon_run with a body that writes to a
 *       fully buffered stdio stream WITHOUT flushing it and returns without calling
 *       daemon_exit.  Expected: the log ends up holding "body pid_fd=N" (N >= 3)
 *       and then "atexit" (the program's exit(0) ran: handlers and stdio flush),
 *       and the PID file is released (empty, unlocked) although the body never
 *       called daemon_exit.  The launcher prints "launcher pid_fd=-1".
 *   lifecycle_check release PID_FILE
 *       daemon_init, daemon_exit (before any run: the PID file is emptied and
 *       unlocked; the launcher prints "released pid_fd=-1" after checking that
 *       the file can be locked), then daemon_run: a fatal error.
 *   lifecycle_check twice PID_FILE
 *       daemon_init twice: the second call is a fatal error.
 *   lifecycle_check run-first
 *       daemon_run without daemon_init: a fatal error.
 *   lifecycle_check ids USER [GROUP]
 *       daemon_resolve_ugid only; prints the internal members
 *       "uid=U gid=G want_setuid=W want_setgid=W".
 *
 * Exit status: 0 as described, 1 on a fatal error (the library's message on
 * stderr), 2 when the program itself finds a broken promise.
 */

#define _POSIX_C_SOURCE 200809L

#include <ucw/lib.h>
#include <ucw/daemon.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static FILE *log_stream;

static void at_exit(void)
{
  if (log_stream)
    fputs("atexit\n", log_stream);   /* flushed by exit() itself */
}

static void returning_body(struct daemon_params *dp)
{
  /* Not flushed: only the program's exit() can write this out. */
  fprintf(log_stream, "body pid_fd=%d\n", dp->pid_fd);
}

static void never_called_body(struct daemon_params *dp UNUSED)
{
  fputs("body ran, but it must not\n", stderr);
  exit(2);
}

int main(int argc, char **argv)
{
  if (argc >= 4 && !strcmp(argv[1], "return"))
    {
      struct daemon_params dp = { .pid_file = argv[2] };
      log_stream = fopen(argv[3], "a");
      if (!log_stream)
        die("Cannot open %s", argv[3]);
      static char buffer[BUFSIZ];
      setvbuf(log_stream, buffer, _IOFBF, sizeof(buffer));
      atexit(at_exit);
      daemon_init(&dp);
      daemon_run(&dp, returning_body);
      /* The launcher: its copy of the stream is discarded, never flushed twice. */
      log_stream = NULL;
      printf("launcher pid_fd=%d\n", dp.pid_fd);
      return 0;
    }
  if (argc >= 3 && !strcmp(argv[1], "release"))
    {
      struct daemon_params dp = { .pid_file = argv[2] };
      daemon_init(&dp);
      if (dp.pid_fd < 3)
        die("daemon_init left pid_fd=%d", dp.pid_fd);
      daemon_exit(&dp);
      int fd = open(argv[2], O_RDONLY);
      if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
        {
          fprintf(stderr, "the PID file is still locked after daemon_exit\n");
          return 2;
        }
      close(fd);
      printf("released pid_fd=%d\n", dp.pid_fd);
      fflush(stdout);
      daemon_run(&dp, never_called_body);
      return 2;
    }
  if (argc >= 3 && !strcmp(argv[1], "twice"))
    {
      struct daemon_params dp = { .pid_file = argv[2] };
      daemon_init(&dp);
      daemon_init(&dp);
      return 2;
    }
  if (argc >= 2 && !strcmp(argv[1], "run-first"))
    {
      struct daemon_params dp = { .pid_file = NULL };
      daemon_run(&dp, never_called_body);
      return 2;
    }
  if (argc >= 3 && !strcmp(argv[1], "ids"))
    {
      struct daemon_params dp = { .run_as_user = argv[2], .run_as_group = argc > 3 ? argv[3] : NULL };
      daemon_resolve_ugid(&dp);
      printf("uid=%u gid=%u want_setuid=%d want_setgid=%d\n",
             (unsigned) dp.run_as_uid, (unsigned) dp.run_as_gid, dp.want_setuid, dp.want_setgid);
      return 0;
    }
  fputs("Usage: lifecycle_check return PID LOG | release PID | twice PID | run-first | ids USER [GROUP]\n",
        stderr);
  return 1;
}
