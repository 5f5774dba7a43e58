/* net.c - resolving the server's name and opening a non-blocking TCP or
 * Unix-domain connection within one overall deadline, and waiting on a
 * descriptor with poll(2).  Untrusted data: resolver answers (addresses
 * only) and the peer's connection errors; nothing is read from the peer
 * here.  The resolver call itself is not bounded by the timeout. */
#include "config.h"

#include "net.h"

#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NO_DEADLINE INT64_MAX

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

/* One non-blocking connect attempt to ai, bounded by deadline.  Returns
 * the descriptor, or -1 with *err set to the errno of the failure (0 for a
 * timeout) and *bind_failed telling which step failed. */
static int
try_address(const struct addrinfo *ai, const struct addrinfo *src, int64_t deadline, int *err,
	    bool *bind_failed)
{
	socklen_t len = sizeof *err;
	int fd;

	*bind_failed = false;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (src && bind(fd, src->ai_addr, src->ai_addrlen) < 0) {
		*err = errno;
		*bind_failed = true;
		close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	/* A non-blocking connect interrupted by a signal carries on in the
	 * background, exactly like EINPROGRESS. */
	if (errno != EINPROGRESS && errno != EINTR) {
		*err = errno;
		close(fd);
		return -1;
	}
	switch (net_wait(fd, POLLOUT, net_remaining(deadline))) {
	case 0:
		*err = 0;
		close(fd);
		return -1;
	case -1:
		*err = errno;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) < 0)
		*err = errno;
	if (*err != 0) {
		close(fd);
		return -1;
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

	rc = getaddrinfo(source_ip, NULL, &hints, src);
	if (rc != 0)
		return error_set(e, ST_CONFIG, _("source_ip '%s' is not an IP address: %s"),
				 source_ip, gai_message(rc));
	return 0;
}

int
net_connect(const char *host, const char *port_or_service, const char *source_ip, int timeout_ms,
	    struct error *e)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	int64_t deadline = net_deadline(timeout_ms);
	struct addrinfo *list, *src = NULL;
	bool tried = false, bind_failed = false;
	int fd = -1, err = 0, one = 1, rc;

	if (source_ip && resolve_source(source_ip, &src, e) < 0)
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
	for (const struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
		if (src && ai->ai_family != src->ai_family)
			continue;
		tried = true;
		fd = try_address(ai, src, deadline, &err, &bind_failed);
		if (fd < 0 && err == 0)
			break;
	}
	freeaddrinfo(list);
	if (src)
		freeaddrinfo(src);
	if (!tried)
		return error_set(e, ST_CONFIG,
				 _("source_ip %s and host %s have no address family in common"),
				 source_ip, host);
	if (fd < 0 && err == 0)
		return error_set(e, ST_CONNECT, _("connection to %s port %s timed out after %g s"),
				 host, port_or_service, timeout_ms / 1000.0);
	if (fd < 0 && bind_failed)
		return error_set(e, ST_CONNECT, _("cannot bind to source_ip %s: %s"), source_ip,
				 strerror(err));
	if (fd < 0)
		return error_set(e, ST_CONNECT, _("cannot connect to %s port %s: %s"), host,
				 port_or_service, strerror(err));
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
