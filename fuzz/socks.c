/* socks.c - fuzz target: what a SOCKS5 proxy sends (src/socks.h).
 *
 * The input is: one option byte choosing the server's host (a name, an
 * IDN name, an IPv4 or an IPv6 literal), then the proxy's whole byte
 * stream (method reply, CONNECT reply, and whatever follows).  It is put
 * into one end of a socketpair, which is then shut for writing, and
 * socks_handshake() runs on the other end as outbox runs it.  Oracle:
 * after a handshake that succeeded, the bytes still in the socket are
 * exactly the input after the method reply (2 bytes) and the CONNECT
 * reply (its length fixed by its address type): the client never reads
 * past the reply. */
#include "config.h"

#include "fuzz.h"

#include "net.h"
#include "socks.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Well within a socketpair's buffer, so that writing it never blocks. */
#define INPUT_MAX 4096

static const char *const hosts[] = {
	"mail.example.org",
	"b\u00fccher.example",
	"192.0.2.25",
	"2001:db8::25",
};

/* The CONNECT reply's length as RFC 1928 6 fixes it, from the reply
 * itself: independent of socks_reply_need(). */
static size_t
reply_length(const uint8_t *reply, size_t n)
{
	if (n < 5)
		abort();
	switch (reply[3]) {
	case 1:
		return 10;
	case 4:
		return 22;
	case 3:
		return 7 + (size_t)reply[4];
	}
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks_request r = {
		.proxy_host = "proxy.example",
		.proxy_port = "1080",
		.port = "587",
		.timeout_ms = 1000,
	};
	uint8_t rest[INPUT_MAX];
	struct error e;
	size_t consumed;
	ssize_t left;
	int sv[2];

	if (size < 1 || size > INPUT_MAX)
		return 0;
	r.host = hosts[data[0] % (sizeof hosts / sizeof hosts[0])];
	data++, size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if ((size > 0 && write(sv[1], data, size) != (ssize_t)size) ||
	    shutdown(sv[1], SHUT_WR) < 0 ||
	    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0)
		abort();
	if (socks_handshake(sv[0], &r, net_deadline(r.timeout_ms), &e) == 0) {
		if (size < 2)
			abort();
		consumed = 2 + reply_length(data + 2, size - 2);
		left = recv(sv[0], rest, sizeof rest, MSG_DONTWAIT);
		if (left < 0)
			left = 0;
		if (consumed + (size_t)left != size ||
		    memcmp(rest, data + consumed, (size_t)left) != 0)
			abort();
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
