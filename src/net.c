/* net.c - resolving the server's name and opening a non-blocking TCP or
 * Unix-domain connection within one overall deadline, and waiting on a
 * descriptor with poll(2).  Untrusted data: resolver answers (addresses
 * only) and the peer's connection errors; nothing is read from the peer
 * here.  The resolver call itself is not bounded by the timeout. */
#include "config.h"

#include "net.h"

#include "i18n.h"
#include "lib.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NO_DEADLINE INT64_MAX

/* RFC 8305 5: the Connection Attempt Delay, its recommended value. */
#define NET_ATTEMPT_DELAY_MS 250

int64_t
net_deadline(int timeout_ms)
{
	struct timespec ts;

	if (timeout_ms < 0)
		return NO_DEADLINE;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

int
net_remaining(int64_t deadline)
{
	struct timespec ts;
	int64_t left;

	if (deadline == NO_DEADLINE)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	left = deadline - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

int
net_wait(int fd, short events, int timeout_ms)
{
	int64_t deadline = net_deadline(timeout_ms);
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	for (;;) {
		n = poll(&p, 1, net_remaining(deadline));
		if (n > 0) {
			if (p.revents & POLLNVAL) {
				errno = EBADF;
				return -1;
			}
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static const char *
gai_message(int code)
{
	return code == EAI_SYSTEM ? strerror(errno) : gai_strerror(code);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One connection being made: the addresses in the order they are tried,
 * the attempts in flight, and the failure to report (RFC 8305). */
struct race {
	const char *host, *port, *source_ip;
	const struct addrinfo *src; /* source_ip resolved, or NULL */
	int timeout_ms;
	int64_t deadline;
	const struct addrinfo **order;
	size_t n_order, next;
	struct pollfd *pending;
	size_t n_pending;
	int64_t next_start; /* when the next address is tried if none has won */
	int err;            /* the failure to report (an errno); 0: none yet */
	bool bind_failed;   /* err is from binding to source_ip */
	bool timed_out;
};

/* A failure that only says there is no route (IPv6 on an IPv4-only
 * network, the usual case) tells less than one the server caused. */
static bool
is_route_error(int err)
{
	return err == ENETUNREACH || err == EHOSTUNREACH || err == EADDRNOTAVAIL ||
	       err == EAFNOSUPPORT;
}

static void
record_failure(struct race *r, int err, bool bind_failed)
{
	if (r->err != 0 && is_route_error(err) && !is_route_error(r->err))
		return;
	r->err = err;
	r->bind_failed = bind_failed;
}

/* RFC 8305 4: IPv6 first, then the families alternate, each in the
 * resolver's order.  With a source address only its family is tried. */
static void
order_addresses(struct race *r, const struct addrinfo *list)
{
	const struct addrinfo **v6, **v4;
	size_t n = 0, n6 = 0, n4 = 0, i6 = 0, i4 = 0;

	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
		n += r->src == NULL || ai->ai_family == r->src->ai_family;
	v6 = xcalloc(n + 1, sizeof *v6);
	v4 = xcalloc(n + 1, sizeof *v4);
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		if (r->src != NULL && ai->ai_family != r->src->ai_family)
			continue;
		if (ai->ai_family == AF_INET6)
			v6[n6++] = ai;
		else
			v4[n4++] = ai;
	}
	r->order = xcalloc(n + 1, sizeof *r->order);
	r->pending = xcalloc(n + 1, sizeof *r->pending);
	while (i6 < n6 || i4 < n4) {
		if (i6 < n6)
			r->order[r->n_order++] = v6[i6++];
		if (i4 < n4)
			r->order[r->n_order++] = v4[i4++];
	}
	free(v6);
	free(v4);
}

/* Starts a connection to the next address.  Returns its descriptor when
 * it connected at once; else -1, the attempt in flight or its failure
 * recorded (then the next address may start at once). */
static int
start_attempt(struct race *r)
{
	const struct addrinfo *ai = r->order[r->next++];
	int fd;

	r->next_start = now_ms();
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		record_failure(r, errno, false);
		return -1;
	}
	if (r->src && bind(fd, r->src->ai_addr, r->src->ai_addrlen) < 0) {
		record_failure(r, errno, true);
		close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	/* A non-blocking connect interrupted by a signal carries on in the
	 * background, exactly like EINPROGRESS. */
	if (errno != EINPROGRESS && errno != EINTR) {
		record_failure(r, errno, false);
		close(fd);
		return -1;
	}
	r->pending[r->n_pending++] = (struct pollfd){.fd = fd, .events = POLLOUT};
	r->next_start += NET_ATTEMPT_DELAY_MS;
	return -1;
}

/* After poll(): the first attempt that connected (its descriptor), or -1;
 * the attempts that failed are closed and the next address may start at
 * once. */
static int
collect_attempts(struct race *r)
{
	size_t i = 0;

	while (i < r->n_pending) {
		struct pollfd *p = &r->pending[i];
		socklen_t len = sizeof(int);
		int fd = p->fd, err = 0;

		if (p->revents == 0) {
			i++;
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		*p = r->pending[--r->n_pending];
		if (err == 0)
			return fd;
		record_failure(r, err, false);
		close(fd);
		r->next_start = now_ms();
	}
	return -1;
}

/* How long poll() may wait: until the deadline, or until the next address
 * is due. */
static int
wait_time(const struct race *r)
{
	int left = net_remaining(r->deadline);
	int64_t due;

	if (r->next >= r->n_order)
		return left;
	due = r->next_start - now_ms();
	if (due < 0)
		due = 0;
	return left >= 0 && left < due ? left : (int)due;
}

/* Happy Eyeballs (RFC 8305 5): the next address starts when the previous
 * one has not connected within NET_ATTEMPT_DELAY_MS, or at once when it
 * failed; every attempt stays in flight, the first to connect wins. */
static int
race_run(struct race *r)
{
	int fd = -1;

	while (fd < 0) {
		if (net_remaining(r->deadline) == 0) {
			r->timed_out = true;
			break;
		}
		if (r->next < r->n_order && (r->n_pending == 0 || now_ms() >= r->next_start)) {
			fd = start_attempt(r);
			continue;
		}
		if (r->n_pending == 0)
			break;
		if (poll(r->pending, r->n_pending, wait_time(r)) < 0 && errno != EINTR) {
			record_failure(r, errno, false);
			break;
		}
		fd = collect_attempts(r);
	}
	for (size_t i = 0; i < r->n_pending; i++)
		close(r->pending[i].fd);
	r->n_pending = 0;
	return fd;
}

static int
race_error(const struct race *r, struct error *e)
{
	if (r->n_order == 0)
		return error_set(e, ST_CONFIG,
				 _("source_ip %s and host %s have no address family in common"),
				 r->source_ip, r->host);
	if (r->timed_out)
		return error_set(e, ST_CONNECT, _("connection to %s port %s timed out after %g s"),
				 r->host, r->port, r->timeout_ms / 1000.0);
	if (r->bind_failed)
		return error_set(e, ST_CONNECT, _("cannot bind to source_ip %s: %s"), r->source_ip,
				 strerror(r->err));
	return error_set(e, ST_CONNECT, _("cannot connect to %s port %s: %s"), r->host, r->port,
			 strerror(r->err));
}

static int
connect_addresses(const struct addrinfo *list, const struct addrinfo *src, const char *host,
		  const char *port, const char *source_ip, int timeout_ms, struct error *e)
{
	struct race r = {.host = host,
			 .port = port,
			 .source_ip = source_ip,
			 .src = src,
			 .timeout_ms = timeout_ms,
			 .deadline = net_deadline(timeout_ms)};
	int fd, one = 1, err;

	order_addresses(&r, list);
	fd = race_run(&r);
	if (fd < 0)
		race_error(&r, e);
	free(r.order);
	free(r.pending);
	if (fd < 0)
		return -1;
	/* Commands are written in whole pipelined groups: Nagle only adds a
	 * delayed-ACK round trip to each of them. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
		err = errno;
		close(fd);
		return error_set(e, ST_CONNECT,
				 _("cannot set TCP_NODELAY on the connection to %s: %s"), host,
				 strerror(err));
	}
	return fd;
}

static int
resolve_source(const char *source_ip, struct addrinfo **src, struct error *e)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
	};
	int rc;

	*src = NULL;
	if (source_ip == NULL)
		return 0;
	rc = getaddrinfo(source_ip, NULL, &hints, src);
	if (rc != 0)
		return error_set(e, ST_CONFIG, _("source_ip '%s' is not an IP address: %s"),
				 source_ip, gai_message(rc));
	return 0;
}

int
net_connect_addresses(const struct addrinfo *list, const char *host, const char *port,
		      const char *source_ip, int timeout_ms, struct error *e)
{
	struct addrinfo *src;
	int fd;

	if (resolve_source(source_ip, &src, e) < 0)
		return -1;
	fd = connect_addresses(list, src, host, port, source_ip, timeout_ms, e);
	if (src)
		freeaddrinfo(src);
	return fd;
}

int
net_connect(const char *host, const char *port_or_service, const char *source_ip, int timeout_ms,
	    struct error *e)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *list, *src;
	int fd, rc;

	if (resolve_source(source_ip, &src, e) < 0)
		return -1;
	rc = getaddrinfo(host, port_or_service, &hints, &list);
	if (rc != 0) {
		if (src)
			freeaddrinfo(src);
		if (rc == EAI_SERVICE)
			return error_set(e, ST_CONFIG,
					 _("unknown port '%s' for host %s; set port to a number"),
					 port_or_service, host);
		/* Every other resolver failure (EAI_AGAIN offline, EAI_NONAME,
		 * EAI_FAIL) counts as being offline. */
		return error_set(e, rc == EAI_MEMORY ? ST_OSERR : ST_CONNECT,
				 _("cannot resolve host %s: %s"), host, gai_message(rc));
	}
	fd = connect_addresses(list, src, host, port_or_service, source_ip, timeout_ms, e);
	freeaddrinfo(list);
	if (src)
		freeaddrinfo(src);
	return fd;
}

/* Linux bounds a blocking Unix-domain connect (which waits while the
 * listener's backlog is full) by SO_SNDTIMEO and then fails with EAGAIN;
 * a non-blocking one would fail at once instead of waiting. */
static int
connect_unix_blocking(int fd, const struct sockaddr_un *sun, int64_t deadline)
{
	int left;

	for (;;) {
		struct timeval tv = {0, 0};

		left = net_remaining(deadline);
		if (left == 0) {
			errno = EAGAIN;
			return -1;
		}
		if (left > 0) {
			tv.tv_sec = left / 1000;
			tv.tv_usec = (left % 1000) * 1000;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
			return -1;
		if (connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

int
net_connect_unix(const char *path, int timeout_ms, struct error *e)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	int fd, err, flags;

	if (len == 0 || len >= sizeof sun.sun_path)
		return error_set(e, ST_CONFIG, _("socket path '%s' must be 1 to %zu bytes long"),
				 path, sizeof sun.sun_path - 1);
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(e, ST_CONNECT, _("cannot create a socket for %s: %s"), path,
				 strerror(errno));
	if (connect_unix_blocking(fd, &sun, net_deadline(timeout_ms)) < 0) {
		err = errno;
		close(fd);
		if (err == EAGAIN || err == EINPROGRESS)
			return error_set(e, ST_CONNECT,
					 _("connection to socket %s timed out after %g s"), path,
					 timeout_ms / 1000.0);
		return error_set(e, ST_CONNECT, _("cannot connect to socket %s: %s"), path,
				 strerror(err));
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = errno;
		close(fd);
		return error_set(e, ST_CONNECT, _("cannot make socket %s non-blocking: %s"), path,
				 strerror(err));
	}
	return fd;
}

int
net_send_all(int fd, const void *p, size_t n, int timeout_ms)
{
	int64_t deadline = net_deadline(timeout_ms);
	const char *s = p;

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		int r;

		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return -1;
		r = net_wait(fd, POLLOUT, net_remaining(deadline));
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return -1;
	}
	return 0;
}

void
net_ack_now(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}
