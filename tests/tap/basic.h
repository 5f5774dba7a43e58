/* basic.h - a tiny TAP library for outbox's unit tests.
 *
 * plan(n) or plan_lazy() first; then ok(), is_int(), is_string(), is_mem();
 * diag() for comments; skip_all() and bail() end the test early.  The exit
 * status is 0 only when every planned test ran and passed.  test_tmpdir()
 * gives a test its own scratch directory. */
#ifndef OUTBOX_TAP_BASIC_H
#define OUTBOX_TAP_BASIC_H

#include <stdbool.h>
#include <stddef.h>

void plan(unsigned long count);
void plan_lazy(void);
void skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool ok(bool success, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool is_int(long expected, long seen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool is_string(const char *expected, const char *seen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool is_mem(const void *expected, size_t elen, const void *seen, size_t slen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void skip(const char *reason);

/* The directory holding the test sources (automake's $srcdir), for data
 * files; "." when unset. */
const char *test_srcdir(void);

/* A new private directory for one test program, $TMPDIR/PREFIX-XXXXXX
 * (/tmp when TMPDIR is not absolute): automake runs tests in parallel, so
 * nothing is shared.  Bails when it cannot be made.  test_tmpdir_free()
 * removes it with everything under it and frees the name. */
char *test_tmpdir(const char *prefix);
void test_tmpdir_free(char *dir);

/* A 127.0.0.1 port that nothing listened on a moment ago (bound to port 0
 * and closed): a server that is down.  Bails when no socket can be made. */
int test_closed_port(void);

#endif
