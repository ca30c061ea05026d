//! Errno names (`EACCES`) and, with `messages`, glibc's descriptions of the common ones.
//!
//! This file owns the two tables (names packed by [`super::five_bits`] at compile time) and their
//! lookups. It must never allocate and knows nothing about errors.

use super::five_bits::{self, Alphabet, NAME_CAPACITY};

/// Errno `number`'s name without the `E` (`ACCES`) in `out`; `None` when Linux names none.
pub(crate) fn errno_stem(number: u16, out: &mut [u8; NAME_CAPACITY]) -> Option<&[u8]> {
    // Errno 0 wraps to an index past the table: no name.
    let index = usize::from(number).wrapping_sub(1);
    let stem = five_bits::unpack(&ERRNO_STEMS, &STEM_ALPHABET, index, out);
    (!stem.is_empty()).then_some(stem)
}

const STEM_ALPHABET: Alphabet = *b"\0ABCDEFGHIJKLMNOPQRSTUVWXYZ23\0\0\0";

/// [`STEMS`] packed five bits a character at compile time.
static ERRNO_STEMS: [u8; five_bits::packed_length(&STEMS)] =
    five_bits::pack(&STEMS, &STEM_ALPHABET);

/// [`ERRNO_NAMES`] without the leading `E` of each name.
const STEMS: [u8; ERRNO_NAMES.len() - named_errnos()] = errno_stems();

const fn named_errnos() -> usize {
    let mut count = 0;
    let mut position = 0;
    while position < ERRNO_NAMES.len() {
        if ERRNO_NAMES[position] == b'E' && (position == 0 || ERRNO_NAMES[position - 1] == 0) {
            count += 1;
        }
        position += 1;
    }
    count
}

const fn errno_stems() -> [u8; ERRNO_NAMES.len() - named_errnos()] {
    let mut out = [0u8; ERRNO_NAMES.len() - named_errnos()];
    let (mut from, mut to) = (0, 0);
    while from < ERRNO_NAMES.len() {
        let starts = from == 0 || ERRNO_NAMES[from - 1] == 0;
        if !(starts && ERRNO_NAMES[from] == b'E') {
            out[to] = ERRNO_NAMES[from];
            to += 1;
        }
        from += 1;
    }
    out
}

/// Which of [`ERRNO_DESCRIPTIONS`] describes `errno`.
#[cfg(feature = "messages")]
pub(crate) fn description_number(number: u16) -> Option<usize> {
    DESCRIBED_ERRNOS
        .iter()
        .position(|&known| u16::from(known) == number)
}

/// Names of errno 1–133 (asm-generic), NUL-terminated; 41 and 58 empty.
const ERRNO_NAMES: &[u8] = b"\
    EPERM\0ENOENT\0ESRCH\0EINTR\0EIO\0ENXIO\0E2BIG\0ENOEXEC\0EBADF\0ECHILD\0EAGAIN\0ENOMEM\0\
    EACCES\0EFAULT\0ENOTBLK\0EBUSY\0EEXIST\0EXDEV\0ENODEV\0ENOTDIR\0EISDIR\0EINVAL\0ENFILE\0\
    EMFILE\0ENOTTY\0ETXTBSY\0EFBIG\0ENOSPC\0ESPIPE\0EROFS\0EMLINK\0EPIPE\0EDOM\0ERANGE\0\
    EDEADLK\0ENAMETOOLONG\0ENOLCK\0ENOSYS\0ENOTEMPTY\0ELOOP\0\0ENOMSG\0EIDRM\0ECHRNG\0EL2NSYNC\0\
    EL3HLT\0EL3RST\0ELNRNG\0EUNATCH\0ENOCSI\0EL2HLT\0EBADE\0EBADR\0EXFULL\0ENOANO\0EBADRQC\0\
    EBADSLT\0\0EBFONT\0ENOSTR\0ENODATA\0ETIME\0ENOSR\0ENONET\0ENOPKG\0EREMOTE\0ENOLINK\0EADV\0\
    ESRMNT\0ECOMM\0EPROTO\0EMULTIHOP\0EDOTDOT\0EBADMSG\0EOVERFLOW\0ENOTUNIQ\0EBADFD\0EREMCHG\0\
    ELIBACC\0ELIBBAD\0ELIBSCN\0ELIBMAX\0ELIBEXEC\0EILSEQ\0ERESTART\0ESTRPIPE\0EUSERS\0ENOTSOCK\0\
    EDESTADDRREQ\0EMSGSIZE\0EPROTOTYPE\0ENOPROTOOPT\0EPROTONOSUPPORT\0ESOCKTNOSUPPORT\0\
    EOPNOTSUPP\0EPFNOSUPPORT\0EAFNOSUPPORT\0EADDRINUSE\0EADDRNOTAVAIL\0ENETDOWN\0ENETUNREACH\0\
    ENETRESET\0ECONNABORTED\0ECONNRESET\0ENOBUFS\0EISCONN\0ENOTCONN\0ESHUTDOWN\0ETOOMANYREFS\0\
    ETIMEDOUT\0ECONNREFUSED\0EHOSTDOWN\0EHOSTUNREACH\0EALREADY\0EINPROGRESS\0ESTALE\0EUCLEAN\0\
    ENOTNAM\0ENAVAIL\0EISNAM\0EREMOTEIO\0EDQUOT\0ENOMEDIUM\0EMEDIUMTYPE\0ECANCELED\0ENOKEY\0\
    EKEYEXPIRED\0EKEYREVOKED\0EKEYREJECTED\0EOWNERDEAD\0ENOTRECOVERABLE\0ERFKILL\0EHWPOISON\0";

/// The errno values that have a description in [`ERRNO_DESCRIPTIONS`], in its order.
#[cfg(feature = "messages")]
const DESCRIBED_ERRNOS: &[u8] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 32, 35, 36, 37, 38, 39, 40, 95, 98, 104, 110, 111, 116, 122,
];

/// `description\0` for each of [`DESCRIBED_ERRNOS`] (glibc's `strerror` wording).
#[cfg(feature = "messages")]
pub(crate) const ERRNO_DESCRIPTIONS: &[u8] = b"\
    Operation not permitted\0\
    No such file or directory\0\
    No such process\0\
    Interrupted system call\0\
    Input/output error\0\
    No such device or address\0\
    Argument list too long\0\
    Exec format error\0\
    Bad file descriptor\0\
    No child processes\0\
    Resource temporarily unavailable\0\
    Cannot allocate memory\0\
    Permission denied\0\
    Bad address\0\
    Device or resource busy\0\
    File exists\0\
    Invalid cross-device link\0\
    No such device\0\
    Not a directory\0\
    Is a directory\0\
    Invalid argument\0\
    Too many open files in system\0\
    Too many open files\0\
    Inappropriate ioctl for device\0\
    Text file busy\0\
    File too large\0\
    No space left on device\0\
    Illegal seek\0\
    Read-only file system\0\
    Too many links\0\
    Broken pipe\0\
    Resource deadlock avoided\0\
    File name too long\0\
    No locks available\0\
    Function not implemented\0\
    Directory not empty\0\
    Too many levels of symbolic links\0\
    Operation not supported\0\
    Address already in use\0\
    Connection reset by peer\0\
    Connection timed out\0\
    Connection refused\0\
    Stale file handle\0\
    Disk quota exceeded\0";

#[cfg(test)]
mod tests;
