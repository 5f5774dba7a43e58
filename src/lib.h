/* lib.h - small shared pieces: a bounded growable buffer, a string list,
 * allocation that aborts cleanly, range-checked number parsing, secret
 * wiping.  No module-specific knowledge lives here. */
#ifndef OUTBOX_LIB_H
#define OUTBOX_LIB_H

#include "status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation failure prints one line and exits with EX_OSERR: there is no
 * sensible recovery, and the message is either still on stdin or already
 * committed. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated past len.  max bounds the
 * size (0 means no bound beyond SIZE_MAX/2); buf_* return -1 when an append
 * would exceed it and leave the buffer unchanged. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);
/* Wipes the contents before freeing: buffers may have held secrets. */
void buf_free(struct buf *b);

/* A list of owned strings. */
struct strlist {
	char **v;
	size_t n;
	size_t cap;
};

void strlist_init(struct strlist *l);
void strlist_add(struct strlist *l, const char *s);
void strlist_add_owned(struct strlist *l, char *s);
bool strlist_contains(const struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/* Parses a whole decimal string into [min, max]; no sign games, no
 * trailing junk.  Returns 0 or -1. */
int parse_long(const char *s, long min, long max, long *out);

/* Opens a file someone else may have put there (a configuration, an
 * aliases file, ~/.netrc) for reading without waiting on it: a FIFO with
 * no writer opens at once and reads as empty instead of blocking the
 * open.  The descriptor is blocking again.  -1 with errno on failure. */
int open_for_reading(const char *path);

/* Writes all n bytes, retrying after EINTR and short writes.  -1 with
 * errno set on failure. */
int write_all(int fd, const void *p, size_t n);

/* How a command run by command_run() ended. */
enum command_status {
	COMMAND_OK,        /* exit status 0 */
	COMMAND_NOT_RUN,   /* pipe, fork or wait failed: code is errno */
	COMMAND_TIMED_OUT, /* killed after the time limit */
	COMMAND_TOO_LONG,  /* printed more than out's bound: killed */
	COMMAND_EXITED,    /* code is its non-zero exit status */
	COMMAND_KILLED,    /* code is the signal */
};

struct command_result {
	enum command_status status;
	int code;
};

/* Runs cmd with /bin/sh -c, stdin from /dev/null, stderr inherited and
 * SIGPIPE at its default, and collects its standard output into out (up to
 * out's bound), for at most timeout_ms in all: reading and waiting for its
 * exit share the deadline, so a command that closes its output and lingers
 * is killed then (COMMAND_TIMED_OUT).  Used for passwordeval and eval:
 * the output may be a secret, so read buffers are wiped. */
void command_run(const char *cmd, int timeout_ms, struct buf *out, struct command_result *r);

/* passwordeval and eval: at most this long from start to exit (time for a
 * gpg-agent pinentry), and this much output (eval uses the first line). */
#define COMMAND_TIMEOUT_MS (120 * 1000)
#define COMMAND_OUTPUT_MAX (1024 * 1024)

/* Runs cmd through command_run() (COMMAND_TIMEOUT_MS; out's bound, which
 * the caller sets, usually COMMAND_OUTPUT_MAX) for its output.  Any end but
 * exit status 0 is an error of class st whose message starts with what
 * ("passwordeval", "eval command 'x'"); a command that could not be
 * started is ST_OSERR. */
int command_output(const char *cmd, const char *what, enum status st, struct buf *out,
		   struct error *e);

/* Overwrites memory that held a secret, in a way the compiler keeps. */
void wipe(void *p, size_t n);
/* Wipes and frees a NUL-terminated secret; NULL is fine. */
void free_secret(char *s);

/* True if s contains CR, LF or NUL within its first n bytes. */
bool has_line_breaks(const char *s, size_t n);

/* Appends s[0..n) made safe for a terminal, a log file or JSON: C0
 * controls, DEL, C1 controls (U+0080-U+009F) and bytes that are not part of
 * valid UTF-8 become visible escapes ("\x1b"); other text, UTF-8 included,
 * is kept.  Every piece of server text goes through it on arrival. */
void buf_append_visible(struct buf *out, const char *s, size_t n);

/* n random bytes (GnuTLS's nonce generator) as 2n lower-case hex digits,
 * newly allocated; NULL if the generator fails. */
char *random_hex(size_t n);

/* RFC 4648 base64 without line breaks.  base64_decode returns -1 on
 * characters outside the alphabet or bad padding. */
void base64_encode(const unsigned char *in, size_t n, struct buf *out);
int base64_decode(const char *in, size_t n, struct buf *out);

/* Writes in[0..n) as hex digits into out, NUL-terminated: two digits a
 * byte (upper case when upper), and sep between bytes unless it is '\0'.
 * out holds 2n + 1 bytes without sep, 3n (at least 1) with one. */
void hex_encode(const unsigned char *in, size_t n, bool upper, char sep, char *out);

/* The value of one hexadecimal digit (either case), or -1. */
int hex_digit_value(char c);

/* Reads fd to end of file, appending to b, whose max bounds it (buf_init).
 * EINTR is retried.  0, or -1 with errno: EFBIG when there is more than b
 * may hold (b then holds what was read before that).  With secret, the
 * read buffer on the stack is wiped (b's contents are the caller's to
 * wipe: buf_free does). */
int read_to_eof(int fd, struct buf *b, bool secret);

/* The length (1 to 4) of the valid UTF-8 sequence at the start of
 * s[0..n), or 0 when there is none there or n is 0 (RFC 3629 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF).  An ASCII byte,
 * NUL included, has length 1. */
size_t utf8_char_len(const unsigned char *s, size_t n);
/* The code point of s[0..len), a sequence utf8_char_len() accepted. */
uint32_t utf8_code_point(const unsigned char *s, size_t len);
/* How much of s[0..n) to keep for at most max bytes without cutting a
 * UTF-8 sequence: n when n <= max, else max moved back over the
 * continuation bytes (0x80-0xBF) at the cut; 0 when all of them are. */
size_t utf8_cut(const char *s, size_t n, size_t max);

/* Appends s[0..n), UTF-8 text, as RFC 2047 "B" encoded-words
 * ("=?UTF-8?B?...?=") separated by single spaces, each holding at most
 * max_text bytes of s (at least 1), cut between characters (utf8_cut()).
 * 45 bytes make a 72-character word, within RFC 2047 2's 75. */
void buf_append_encoded_words(struct buf *b, const char *s, size_t n, size_t max_text);

/* Parses a certificate fingerprint, hex pairs (either case) joined by ':'
 * ("AA:0b:..."), into out.  Returns the number of bytes, or -1 when s is
 * not such a list or holds more than max bytes. */
int fingerprint_parse(const char *s, unsigned char *out, size_t max);

/* Appends s[0..n) as an RFC 5322 3.2.4 quoted-string: between double
 * quotes, with a backslash before each '"' and each backslash. */
void buf_append_quoted(struct buf *b, const char *s, size_t n);

#endif
