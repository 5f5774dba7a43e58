/* lib.c - allocation, bounded buffers, string lists, number parsing. */
#include "config.h"

#include "lib.h"

#include "crypto.h"
#include "i18n.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
out_of_memory(void)
{
	fputs(_("outbox: out of memory\n"), stderr);
	exit(EX_OSERR);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		out_of_memory();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		out_of_memory();
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	return p;
}

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

static int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	/* Grow by copying so that secrets never linger in freed memory. */
	p = xmalloc(cap);
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char *p;
	int n, rc;

	n = vasprintf(&p, fmt, ap);
	if (n < 0)
		out_of_memory();
	rc = buf_append(b, p, (size_t)n);
	wipe(p, (size_t)n);
	free(p);
	return rc;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
buf_reset(struct buf *b)
{
	if (b->data != NULL) {
		wipe(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

void
strlist_init(struct strlist *l)
{
	l->v = NULL;
	l->n = l->cap = 0;
}

void
strlist_add_owned(struct strlist *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = s;
}

void
strlist_add(struct strlist *l, const char *s)
{
	strlist_add_owned(l, xstrdup(s));
}

bool
strlist_contains(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	strlist_init(l);
}

int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9') {
		if (!(s != NULL && *s == '-' && min < 0))
			return -1;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
open_for_reading(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int flags;

	if (fd < 0)
		return -1;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
command_child(const char *cmd, int out_fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	/* outbox ignores SIGPIPE; the command must not inherit that. */
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* Milliseconds left of timeout_ms counted from start (0 when past). */
static int
ms_left(const struct timespec *start, int timeout_ms)
{
	struct timespec now;
	long waited;

	clock_gettime(CLOCK_MONOTONIC, &now);
	waited = (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
	return waited >= timeout_ms ? 0 : (int)(timeout_ms - waited);
}

/* Reads the command's output until EOF, the bound or the deadline. */
static enum command_status
command_read(int fd, const struct timespec *start, int timeout_ms, struct buf *out, int *code)
{
	char chunk[4096];
	enum command_status st = COMMAND_OK;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int left = ms_left(start, timeout_ms);
		ssize_t n;
		int ready;

		if (left == 0) {
			st = COMMAND_TIMED_OUT;
			break;
		}
		ready = poll(&pfd, 1, left);
		if (ready < 0 && errno != EINTR) {
			st = COMMAND_NOT_RUN;
			*code = errno;
			break;
		}
		if (ready <= 0)
			continue;
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = COMMAND_NOT_RUN;
			*code = errno;
			break;
		}
		if (n == 0)
			break;
		if (buf_append(out, chunk, (size_t)n) < 0) {
			st = COMMAND_TOO_LONG;
			break;
		}
	}
	wipe(chunk, sizeof chunk);
	return st;
}

/* Waits for the command to exit within what is left of the deadline: a
 * command that closes its output and goes on running (or sleeping) is
 * killed when the time is up, since its exit status decides whether the
 * output counts.  0 with *status set, or 1 when the deadline passed. */
static int
command_wait(pid_t pid, const struct timespec *start, int timeout_ms, int *status)
{
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		int left;

		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -1;
		left = ms_left(start, timeout_ms);
		if (left == 0)
			return 1;
		poll(NULL, 0, left < 10 ? left : 10);
	}
}

void
command_run(const char *cmd, int timeout_ms, struct buf *out, struct command_result *r)
{
	struct timespec start;
	int fds[2], status, waited;
	pid_t pid;

	r->code = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r->status = COMMAND_NOT_RUN;
		r->code = errno;
		return;
	}
	pid = fork();
	if (pid < 0) {
		r->status = COMMAND_NOT_RUN;
		r->code = errno;
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0)
		command_child(cmd, fds[1]);
	close(fds[1]);
	r->status = command_read(fds[0], &start, timeout_ms, out, &r->code);
	close(fds[0]);
	waited = r->status == COMMAND_OK ? command_wait(pid, &start, timeout_ms, &status) : 1;
	if (waited == 1) {
		kill(pid, SIGKILL);
		if (r->status == COMMAND_OK)
			r->status = COMMAND_TIMED_OUT;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (waited < 0) {
		r->status = COMMAND_NOT_RUN;
		r->code = errno;
		return;
	}
	if (WIFSIGNALED(status)) {
		r->status = COMMAND_KILLED;
		r->code = WTERMSIG(status);
	} else if (WEXITSTATUS(status) != 0) {
		r->status = COMMAND_EXITED;
		r->code = WEXITSTATUS(status);
	}
}

int
command_output(const char *cmd, const char *what, enum status st, struct buf *out, struct error *e)
{
	struct command_result r;

	command_run(cmd, COMMAND_TIMEOUT_MS, out, &r);
	switch (r.status) {
	case COMMAND_OK:
		return 0;
	case COMMAND_NOT_RUN:
		return error_set(e, ST_OSERR, _("cannot run %s: %s"), what, strerror(r.code));
	case COMMAND_TIMED_OUT:
		return error_set(e, st, _("%s did not finish within %d seconds"), what,
				 COMMAND_TIMEOUT_MS / 1000);
	case COMMAND_TOO_LONG:
		return error_set(e, st, _("%s printed more than %zu bytes"), what, out->max);
	case COMMAND_KILLED:
		return error_set(e, st, _("%s was killed by signal %d; run it by hand to see why"),
				 what, r.code);
	case COMMAND_EXITED:
		break;
	}
	return error_set(e, st, _("%s failed with exit status %d; run it by hand to see why"), what,
			 r.code);
}

void
wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
free_secret(char *s)
{
	if (s != NULL) {
		wipe(s, strlen(s));
		free(s);
	}
}

bool
has_line_breaks(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return true;
	return false;
}

/* The valid UTF-8 sequence at s of a printable character, or 0: the C1
 * controls (U+0080-U+009F) are not text. */
static size_t
utf8_printable_len(const unsigned char *s, size_t n)
{
	size_t len = utf8_char_len(s, n);

	return len == 2 && s[0] == 0xc2 && s[1] < 0xa0 ? 0 : len;
}

void
buf_append_visible(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = p[i] >= 0x80 ? utf8_printable_len(p + i, n - i) : 1;

		if (len == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			buf_printf(out, "\\x%02x", p[i]);
			i++;
		} else {
			buf_append(out, p + i, len);
			i += len;
		}
	}
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(const unsigned char *in, size_t n, struct buf *out)
{
	char quad[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		quad[0] = b64_alphabet[(v >> 18) & 63];
		quad[1] = b64_alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < n ? b64_alphabet[v & 63] : '=';
		if (buf_append(out, quad, 4) < 0)
			return;
	}
}

static int
b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64_alphabet, c) : NULL;

	return p != NULL ? (int)(p - b64_alphabet) : -1;
}

int
base64_decode(const char *in, size_t n, struct buf *out)
{
	unsigned char bytes[3];

	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad > 0 || (v[j] = b64_value(in[i + j])) < 0) {
				return -1;
			}
		}
		bytes[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		bytes[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		bytes[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		if (buf_append(out, bytes, (size_t)(3 - pad)) < 0)
			return -1;
	}
	return 0;
}

char *
random_hex(size_t n)
{
	unsigned char *rnd = xmalloc(n);
	char *s = NULL;

	if (crypto_random(rnd, n) == 0) {
		s = xmalloc(2 * n + 1);
		hex_encode(rnd, n, false, '\0', s);
	}
	free(rnd);
	return s;
}

void
hex_encode(const unsigned char *in, size_t n, bool upper, char sep, char *out)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t step = sep != '\0' ? 3 : 2;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		out[i * step] = digits[in[i] >> 4];
		out[i * step + 1] = digits[in[i] & 15];
		if (sep != '\0')
			out[i * step + 2] = i + 1 < n ? sep : '\0';
	}
	if (sep == '\0')
		out[2 * n] = '\0';
}

int
read_to_eof(int fd, struct buf *b, bool secret)
{
	char chunk[65536];
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		if (buf_append(b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			rc = -1;
			break;
		}
	}
	if (secret) {
		int err = errno;

		wipe(chunk, sizeof chunk);
		errno = err;
	}
	return rc;
}

size_t
utf8_char_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (s[0] < 0xc2 || s[0] > 0xf4 || len > n)
		return 0;
	/* The second byte's range excludes the overlong forms, the
	 * surrogates and what lies past U+10FFFF (RFC 3629 4). */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

uint32_t
utf8_code_point(const unsigned char *s, size_t len)
{
	uint32_t cp = len == 1 ? s[0] : s[0] & (0x7fu >> len);

	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

size_t
utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void
buf_append_encoded_words(struct buf *b, const char *s, size_t n, size_t max_text)
{
	for (size_t start = 0; start < n;) {
		size_t take = utf8_cut(s + start, n - start, max_text);

		if (take == 0)
			take = 1;
		if (start > 0)
			buf_puts(b, " ");
		buf_puts(b, "=?UTF-8?B?");
		base64_encode((const unsigned char *)s + start, take, b);
		buf_puts(b, "?=");
		start += take;
	}
}

int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
fingerprint_parse(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	for (;;) {
		int hi = hex_digit_value(s[0]);
		int lo = hi < 0 ? -1 : hex_digit_value(s[1]);

		if (lo < 0 || n == max)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		if (s[2] == '\0')
			return (int)n;
		if (s[2] != ':')
			return -1;
		s += 3;
	}
}

void
buf_append_quoted(struct buf *b, const char *s, size_t n)
{
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, s + i, 1);
	}
	buf_append(b, "\"", 1);
}
