/* transport.c - buffered, timed I/O over a plain or TLS connection.
 *
 * Untrusted input: bytes from the server.  Lines are bounded by
 * REPLY_LINE_MAX; reads and writes wait until the exchange's deadline, or
 * at most timeout_ms each when none is set. */
#include "config.h"

#include "transport.h"

#include "i18n.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

void
transport_init(struct transport *t, int fd, int timeout_ms)
{
	memset(t, 0, sizeof *t);
	t->fd = fd;
	t->timeout_ms = timeout_ms;
}

void
transport_set_deadline(struct transport *t, int64_t deadline)
{
	t->has_deadline = true;
	t->deadline = deadline;
}

void
transport_clear_deadline(struct transport *t)
{
	t->has_deadline = false;
}

bool
transport_expired(const struct transport *t)
{
	return t->has_deadline && net_remaining(t->deadline) == 0;
}

/* How long the next wait may last, as a poll(2) timeout. */
static int
wait_ms(const struct transport *t)
{
	return t->has_deadline ? net_remaining(t->deadline) : t->timeout_ms;
}

int
transport_start_tls(struct transport *t, const struct tls_params *p, struct error *e)
{
	if (t->in_pos < t->in_len)
		return error_set(e, ST_SERVER_TEMP,
				 _("the server sent data before the TLS handshake; refusing to "
				   "continue (possible command injection)"));
	t->tls = tls_start(t->fd, p, e);
	return t->tls != NULL ? 0 : -1;
}

bool
transport_is_encrypted(const struct transport *t)
{
	return t->tls != NULL;
}

int
transport_channel_binding(const struct transport *t, const char **type, unsigned char **data,
			  size_t *len)
{
	if (t->tls == NULL)
		return -1;
	*type = tls_is_tls13(t->tls) ? "tls-exporter" : "tls-unique";
	return tls_channel_binding(t->tls, *type, data, len);
}

int
transport_describe_tls(const struct transport *t, struct buf *out)
{
	return t->tls != NULL ? tls_describe(t->tls, out) : 0;
}

bool
transport_speaks_tls(int fd, const char *host, const char *priorities, int timeout_ms)
{
	struct tls_params probe = {
		.host = host, .priorities = priorities, .timeout_ms = timeout_ms};
	struct error ignored;
	struct tls *tls;

	if (fd < 0)
		return false;
	tls = tls_start(fd, &probe, &ignored);
	tls_close(tls);
	close(fd);
	return tls != NULL;
}

static int
plain_write_all(struct transport *t, const char *p, size_t n, struct error *e)
{
	if (net_send_all(t->fd, p, n, wait_ms(t)) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		return error_set(e, ST_CONNECT, _("timed out after %d s sending to the server"),
				 t->timeout_ms / 1000);
	return error_set(e, ST_CONNECT, _("sending to the server failed: %s"), strerror(errno));
}

int
transport_flush(struct transport *t, struct error *e)
{
	int rc;

	if (t->out_len == 0)
		return 0;
	if (t->tls != NULL)
		rc = tls_write_all(t->tls, t->out, t->out_len, wait_ms(t), e);
	else
		rc = plain_write_all(t, t->out, t->out_len, e);
	t->out_len = 0;
	return rc;
}

int
transport_write(struct transport *t, const void *p, size_t n, struct error *e)
{
	const char *s = p;

	while (n > 0) {
		size_t room = sizeof t->out - t->out_len;
		size_t take = n < room ? n : room;

		memcpy(t->out + t->out_len, s, take);
		t->out_len += take;
		s += take;
		n -= take;
		if (t->out_len == sizeof t->out && transport_flush(t, e) < 0)
			return -1;
	}
	return 0;
}

static long
fill(struct transport *t, struct error *e)
{
	ssize_t r;

	if (t->in_pos > 0) {
		memmove(t->in, t->in + t->in_pos, t->in_len - t->in_pos);
		t->in_len -= t->in_pos;
		t->in_pos = 0;
	}
	if (t->tls != NULL) {
		r = tls_read(t->tls, t->in + t->in_len, sizeof t->in - t->in_len, wait_ms(t), e);
		if (r < 0)
			return -1;
	} else {
		for (;;) {
			int w = net_wait(t->fd, POLLIN, wait_ms(t));

			if (w == 0)
				return error_set(e, ST_CONNECT,
						 _("timed out after %d s waiting for the server"),
						 t->timeout_ms / 1000);
			if (w < 0)
				return error_set(e, ST_CONNECT,
						 _("reading from the server failed: %s"),
						 strerror(errno));
			r = read(t->fd, t->in + t->in_len, sizeof t->in - t->in_len);
			if (r > 0)
				net_ack_now(t->fd);
			if (r >= 0)
				break;
			if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
				return error_set(e, ST_CONNECT,
						 _("reading from the server failed: %s"),
						 strerror(errno));
		}
	}
	if (r == 0)
		return error_set(e, ST_CONNECT, _("the server closed the connection"));
	t->in_len += (size_t)r;
	t->received += (size_t)r;
	return r;
}

long
transport_read_line(struct transport *t, char *line, struct error *e)
{
	for (;;) {
		char *start = t->in + t->in_pos;
		char *nl = memchr(start, '\n', t->in_len - t->in_pos);

		if (nl != NULL) {
			size_t len = (size_t)(nl - start);

			t->in_pos += len + 1;
			if (len > 0 && start[len - 1] == '\r')
				len--;
			if (len > REPLY_LINE_MAX)
				break;
			memcpy(line, start, len);
			line[len] = '\0';
			if (memchr(line, '\0', len) != NULL)
				return error_set(e, ST_SERVER_TEMP,
						 _("the server sent a NUL byte in a reply"));
			return (long)len;
		}
		if (t->in_len - t->in_pos >= sizeof t->in)
			break;
		if (fill(t, e) < 0)
			return -1;
	}
	return error_set(e, ST_SERVER_TEMP, _("the server sent a reply line longer than %d bytes"),
			 REPLY_LINE_MAX);
}

void
transport_close(struct transport *t)
{
	if (t->tls != NULL) {
		tls_close(t->tls);
		t->tls = NULL;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
