/* basic.c - TAP output for the unit tests (see basic.h). */
#include "config.h"

#include "basic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned long planned;
static unsigned long run;
static unsigned long failed;
static bool lazy;

static void
finish(void)
{
	if (lazy)
		printf("1..%lu\n", run);
	fflush(stdout);
	if (!lazy && planned != run) {
		fprintf(stderr, "# planned %lu tests but ran %lu\n", planned, run);
		_exit(1);
	}
	if (failed > 0)
		_exit(1);
}

void
plan(unsigned long count)
{
	planned = count;
	printf("1..%lu\n", count);
	fflush(stdout);
	atexit(finish);
}

void
plan_lazy(void)
{
	lazy = true;
	atexit(finish);
}

static void
vprint_desc(const char *fmt, va_list ap)
{
	if (fmt != NULL && *fmt != '\0') {
		fputs(" - ", stdout);
		vprintf(fmt, ap);
	}
	putchar('\n');
	fflush(stdout);
}

void
skip_all(const char *fmt, ...)
{
	va_list ap;

	fputs("1..0 # SKIP ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	_exit(0);
}

void
bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	_exit(255);
}

void
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static bool
vresult(bool success, const char *fmt, va_list ap)
{
	run++;
	if (!success)
		failed++;
	printf("%sok %lu", success ? "" : "not ", run);
	vprint_desc(fmt, ap);
	return success;
}

bool
ok(bool success, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vresult(success, fmt, ap);
	va_end(ap);
	return success;
}

bool
is_int(long expected, long seen, const char *fmt, ...)
{
	bool success = expected == seen;
	va_list ap;

	va_start(ap, fmt);
	vresult(success, fmt, ap);
	va_end(ap);
	if (!success)
		diag("wanted: %ld\n#   seen: %ld", expected, seen);
	return success;
}

bool
is_string(const char *expected, const char *seen, const char *fmt, ...)
{
	bool success;
	va_list ap;

	if (expected == NULL || seen == NULL)
		success = expected == seen;
	else
		success = strcmp(expected, seen) == 0;
	va_start(ap, fmt);
	vresult(success, fmt, ap);
	va_end(ap);
	if (!success)
		diag("wanted: %s\n#   seen: %s", expected ? expected : "(null)",
		     seen ? seen : "(null)");
	return success;
}

bool
is_mem(const void *expected, size_t elen, const void *seen, size_t slen, const char *fmt, ...)
{
	bool success = elen == slen && (elen == 0 || memcmp(expected, seen, elen) == 0);
	va_list ap;

	va_start(ap, fmt);
	vresult(success, fmt, ap);
	va_end(ap);
	if (!success)
		diag("wanted %zu bytes: %.*s\n#   seen %zu bytes: %.*s", elen,
		     (int)(elen > 400 ? 400 : elen), (const char *)expected, slen,
		     (int)(slen > 400 ? 400 : slen), (const char *)seen);
	return success;
}

void
skip(const char *reason)
{
	run++;
	printf("ok %lu # skip %s\n", run, reason);
	fflush(stdout);
}

const char *
test_srcdir(void)
{
	const char *s = getenv("srcdir");

	return s != NULL && *s != '\0' ? s : ".";
}

char *
test_tmpdir(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	size_t len;
	char *dir;

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	len = strlen(tmp) + strlen(prefix) + sizeof "/-XXXXXX";
	dir = malloc(len);
	if (dir == NULL)
		bail("out of memory");
	snprintf(dir, len, "%s/%s-XXXXXX", tmp, prefix);
	if (mkdtemp(dir) == NULL)
		bail("cannot create %s: %s", dir, strerror(errno));
	return dir;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0)
		diag("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

void
test_tmpdir_free(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

int
test_closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		bail("cannot bind a socket: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}
