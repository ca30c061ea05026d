/*
 * abi_check.c -- compile-time proof that <ucw/daemon.h> has LibUCW's ABI on LP64
 * Linux (x86_64, aarch64): the enumeration values, DAEMON_ERR_LEN, the member
 * types, and the sizes and offsets of both structures, written as literal numbers
 * computed by hand from LibUCW's member list (see capi/NOTES.md for where that
 * list was read).
 *
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -I capi/include -fsyntax-only capi/tests/abi_check.c
 *
 * Nothing here refers to a library symbol (_Generic and sizeof do not evaluate
 * their operands), so the file also links and runs without the library.
 */

#include <ucw/lib.h>
#include <ucw/daemon.h>

#include <stddef.h>
#include <sys/types.h>

#if !defined(__LP64__)
#error "abi_check.c writes down the LP64 layout only (x86_64, aarch64)"
#endif

/* The data model the numbers below assume. */
_Static_assert(sizeof(int) == 4 && sizeof(unsigned int) == 4, "int is 32-bit");
_Static_assert(sizeof(void *) == 8 && _Alignof(void *) == 8, "pointers are 64-bit");
_Static_assert(sizeof(uid_t) == 4 && _Alignof(uid_t) == 4, "uid_t is 32-bit");
_Static_assert((uid_t) -1 > 0, "uid_t is unsigned");
_Static_assert(sizeof(uint) == sizeof(unsigned int), "uint is unsigned int");

/* ---- Enumerations and DAEMON_ERR_LEN: LibUCW's numbers ---- */

_Static_assert(DAEMON_FLAG_PRESERVE_CWD == 1, "DAEMON_FLAG_PRESERVE_CWD");
_Static_assert(DAEMON_FLAG_SIMULATE == 2, "DAEMON_FLAG_SIMULATE");

_Static_assert(DAEMON_ERR_LEN == 256, "DAEMON_ERR_LEN");

_Static_assert(DAEMON_CONTROL_CHECK == 1, "DAEMON_CONTROL_CHECK");
_Static_assert(DAEMON_CONTROL_START == 2, "DAEMON_CONTROL_START");
_Static_assert(DAEMON_CONTROL_STOP == 3, "DAEMON_CONTROL_STOP");
_Static_assert(DAEMON_CONTROL_SIGNAL == 4, "DAEMON_CONTROL_SIGNAL");

_Static_assert(DAEMON_STATUS_OK == 0, "DAEMON_STATUS_OK");
_Static_assert(DAEMON_STATUS_ALREADY_DONE == 100, "DAEMON_STATUS_ALREADY_DONE");
_Static_assert(DAEMON_STATUS_NOT_RUNNING == 101, "DAEMON_STATUS_NOT_RUNNING");
_Static_assert(DAEMON_STATUS_ERROR == 102, "DAEMON_STATUS_ERROR");
_Static_assert(DAEMON_STATUS_STALE == 103, "DAEMON_STATUS_STALE");

/* daemon_control() returns the enum in a 32-bit register. */
_Static_assert(sizeof(enum daemon_control_status) == 4, "enum daemon_control_status");

/* ---- struct daemon_params ----
 *
 * LP64: uint, uid_t and int take 4 bytes aligned to 4; pointers 8 aligned to 8.
 *
 *   member        type          offset  size
 *   flags         uint               0     4   then 4 bytes of padding: the next
 *                                              member is a pointer, aligned to 8
 *   pid_file      const char *       8     8
 *   run_as_user   const char *      16     8
 *   run_as_group  const char *      24     8
 *   run_as_uid    uid_t             32     4
 *   run_as_gid    uid_t             36     4
 *   want_setuid   int               40     4
 *   want_setgid   int               44     4
 *   pid_fd        int               48     4   ends at 52
 *
 *   size: 52 rounded up to the structure's alignment (8, its pointers) = 56
 */
_Static_assert(offsetof(struct daemon_params, flags) == 0, "flags");
_Static_assert(offsetof(struct daemon_params, pid_file) == 8, "pid_file");
_Static_assert(offsetof(struct daemon_params, run_as_user) == 16, "run_as_user");
_Static_assert(offsetof(struct daemon_params, run_as_group) == 24, "run_as_group");
_Static_assert(offsetof(struct daemon_params, run_as_uid) == 32, "run_as_uid");
_Static_assert(offsetof(struct daemon_params, run_as_gid) == 36, "run_as_gid");
_Static_assert(offsetof(struct daemon_params, want_setuid) == 40, "want_setuid");
_Static_assert(offsetof(struct daemon_params, want_setgid) == 44, "want_setgid");
_Static_assert(offsetof(struct daemon_params, pid_fd) == 48, "pid_fd");
_Static_assert(sizeof(struct daemon_params) == 56, "sizeof(struct daemon_params)");
_Static_assert(_Alignof(struct daemon_params) == 8, "_Alignof(struct daemon_params)");

/* ---- struct daemon_control_params ----
 *
 *   member      type              offset  size
 *   pid_file    const char *           0     8
 *   guard_file  const char *           8     8
 *   action      int                   16     4   then 4 bytes of padding (argv is
 *                                                a pointer, aligned to 8)
 *   argv        char * const *        24     8
 *   signal      int                   32     4
 *   error_msg   char[DAEMON_ERR_LEN]  36   256   alignment 1, no padding; ends at 292
 *
 *   size: 292 rounded up to the structure's alignment (8) = 296
 */
_Static_assert(offsetof(struct daemon_control_params, pid_file) == 0, "pid_file");
_Static_assert(offsetof(struct daemon_control_params, guard_file) == 8, "guard_file");
_Static_assert(offsetof(struct daemon_control_params, action) == 16, "action");
_Static_assert(offsetof(struct daemon_control_params, argv) == 24, "argv");
_Static_assert(offsetof(struct daemon_control_params, signal) == 32, "signal");
_Static_assert(offsetof(struct daemon_control_params, error_msg) == 36, "error_msg");
_Static_assert(sizeof(struct daemon_control_params) == 296,
               "sizeof(struct daemon_control_params)");
_Static_assert(_Alignof(struct daemon_control_params) == 8,
               "_Alignof(struct daemon_control_params)");

/* ---- Member types ----
 * Declared, never defined or used at run time: _Generic only looks at the types.
 */
extern struct daemon_params abi_dp;
extern struct daemon_control_params abi_dc;

#define HAS_TYPE(expression, type) _Generic((expression), type: 1, default: 0)

_Static_assert(HAS_TYPE(abi_dp.flags, unsigned int), "flags is uint");
_Static_assert(HAS_TYPE(abi_dp.pid_file, const char *), "pid_file is const char *");
_Static_assert(HAS_TYPE(abi_dp.run_as_user, const char *), "run_as_user is const char *");
_Static_assert(HAS_TYPE(abi_dp.run_as_group, const char *), "run_as_group is const char *");
_Static_assert(HAS_TYPE(abi_dp.run_as_uid, uid_t), "run_as_uid is uid_t");
_Static_assert(HAS_TYPE(abi_dp.run_as_gid, uid_t), "run_as_gid is uid_t (as in LibUCW)");
_Static_assert(HAS_TYPE(abi_dp.want_setuid, int), "want_setuid is int");
_Static_assert(HAS_TYPE(abi_dp.want_setgid, int), "want_setgid is int");
_Static_assert(HAS_TYPE(abi_dp.pid_fd, int), "pid_fd is int");

_Static_assert(HAS_TYPE(abi_dc.pid_file, const char *), "pid_file is const char *");
_Static_assert(HAS_TYPE(abi_dc.guard_file, const char *), "guard_file is const char *");
_Static_assert(HAS_TYPE(abi_dc.action, int), "action is int");
_Static_assert(HAS_TYPE(abi_dc.argv, char *const *), "argv is char * const *");
_Static_assert(HAS_TYPE(abi_dc.signal, int), "signal is int");
_Static_assert(HAS_TYPE(&abi_dc.error_msg, char (*)[DAEMON_ERR_LEN]),
               "error_msg is char[DAEMON_ERR_LEN]");

/* ---- Function signatures ---- */

typedef void daemon_body_fn(struct daemon_params *dp);

_Static_assert(HAS_TYPE(daemon_init, void (*)(struct daemon_params *)), "daemon_init");
_Static_assert(HAS_TYPE(daemon_run, void (*)(struct daemon_params *, daemon_body_fn *)),
               "daemon_run");
_Static_assert(HAS_TYPE(daemon_exit, void (*)(struct daemon_params *)), "daemon_exit");
_Static_assert(HAS_TYPE(daemon_resolve_ugid, void (*)(struct daemon_params *)),
               "daemon_resolve_ugid");
_Static_assert(HAS_TYPE(daemon_switch_ugid, void (*)(struct daemon_params *)),
               "daemon_switch_ugid");
_Static_assert(HAS_TYPE(daemon_control,
                        enum daemon_control_status (*)(struct daemon_control_params *)),
               "daemon_control");
_Static_assert(HAS_TYPE(die, void (*)(const char *, ...)), "die");

int main(void)
{
  return 0;
}
