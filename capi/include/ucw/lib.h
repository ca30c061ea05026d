/*
 * ucw/lib.h -- the few pieces of LibUCW's <ucw/lib.h> that programs using
 * <ucw/daemon.h> rely on, for ucw-daemon's C ABI.  Not LibUCW's header: no
 * logging, allocation or configuration, only
 *
 *   uint      LibUCW's name for unsigned int (struct daemon_params.flags is one);
 *   NONRET    the function does not return;
 *   UNUSED    the variable or parameter is knowingly unused;
 *   FORMAT_CHECK(archetype, format_index, first_vararg_index)
 *             check the arguments like printf()'s;
 *   die()     print a printf-style message and a newline to stderr, exit(1)
 *             ("%m" works where the libc's printf has it: glibc, musl).
 *
 * The macros expand to GCC attributes (GCC and Clang), as LibUCW's do.
 *
 * die() is defined here, static inline, on the program's own stdio and exit():
 * no library symbol is needed for it, and libucw_daemon_capi.a neither defines nor
 * calls it (its own fatal errors write to descriptor 2 and call exit(1)).
 * LibUCW's die() goes through its logging module (log_die_hook, timestamps,
 * abort() when asked by the environment); this one only prints and exits 1.
 *
 * The include guard is LibUCW's, so that this header and LibUCW's never both
 * define the same names in one translation unit.
 */

#ifndef _UCW_LIB_H
#define _UCW_LIB_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef unsigned int uint;

#define NONRET __attribute__((noreturn))
#define UNUSED __attribute__((unused))
#define FORMAT_CHECK(archetype, format_index, first_vararg_index) \
  __attribute__((format(archetype, format_index, first_vararg_index)))

#ifdef __cplusplus
extern "C" {
#endif

/* Write the formatted message and a newline to stderr, then exit(1). */
static inline void die(const char *fmt, ...) NONRET FORMAT_CHECK(printf, 1, 2);

static inline void die(const char *fmt, ...)
{
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
  exit(1);
}

#ifdef __cplusplus
}
#endif

#endif /* _UCW_LIB_H */
