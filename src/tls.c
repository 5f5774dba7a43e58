/* tls.c - the GnuTLS client: credentials from the tls_* settings, the
 * handshake (whose certificate checks are in tls_cert.c), bounded record
 * reads and writes over a non-blocking descriptor, and the channel binding
 * of an established session.  Untrusted data: everything the server sends;
 * GnuTLS parses the records and the handshake, and what reaches a message
 * from it is a GnuTLS error or alert name. */
#include "config.h"

#include "tls_private.h"

#include "i18n.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One full TLS record of plaintext (RFC 8446 section 5.1). */
#define RECORD_MAX 16384
/* close_notify is a courtesy: never wait long for it. */
#define CLOSE_TIMEOUT_MS 500

/* Handshake failures that a retry will not cure.  A plain SMTP greeting
 * ("220 ...") read as a TLS record header gives one of the first three. */
#define NOT_TLS_HINT                                                                               \
	N_("the server does not speak TLS on this port; if it expects STARTTLS, set tls_starttls " \
	   "on")
static const struct {
	int code;
	const char *hint;
} handshake_failures[] = {
	{GNUTLS_E_UNEXPECTED_PACKET, NOT_TLS_HINT},
	{GNUTLS_E_UNEXPECTED_PACKET_LENGTH, NOT_TLS_HINT},
	{GNUTLS_E_UNSUPPORTED_VERSION_PACKET, NOT_TLS_HINT},
	{GNUTLS_E_FATAL_ALERT_RECEIVED, N_("the server refused the connection's TLS parameters; "
					   "check tls_priorities, tls_cert_file and tls_key_file")},
	{GNUTLS_E_NO_CIPHER_SUITES, N_("no cipher suite in common; check tls_priorities")},
	{GNUTLS_E_UNKNOWN_CIPHER_SUITE, N_("no cipher suite in common; check tls_priorities")},
	{GNUTLS_E_INSUFFICIENT_CREDENTIALS, N_("no cipher suite in common; check tls_priorities")},
	{GNUTLS_E_NO_COMMON_KEY_SHARE, N_("no key exchange in common; check tls_priorities")},
};

static const struct {
	const char *name;
	gnutls_channel_binding_t type;
} channel_bindings[] = {
	{"tls-exporter", GNUTLS_CB_TLS_EXPORTER},
	{"tls-unique", GNUTLS_CB_TLS_UNIQUE},
};

/* Names the file and, when it cannot even be read, the system's reason. */
static int
file_error(struct error *e, const char *keyword, const char *file, int rc)
{
	if (access(file, R_OK) < 0)
		return error_set(e, ST_CONFIG, _("cannot read %s %s: %s"), keyword, file,
				 strerror(errno));
	return error_set(e, ST_CONFIG, _("cannot load %s %s: %s"), keyword, file,
			 rc == 0 ? _("no certificates in it") : gnutls_strerror(rc));
}

static int
load_trust(struct tls *t, const struct tls_params *p, struct error *e)
{
	int rc;

	if (!p->trust_file || strcmp(p->trust_file, "system") == 0) {
		rc = gnutls_certificate_set_x509_system_trust(t->cred);
		if (rc <= 0)
			return error_set(e, ST_CONFIG,
					 _("cannot load the system's trusted CAs: %s; set "
					   "tls_trust_file"),
					 rc == 0 ? _("there are none") : gnutls_strerror(rc));
	} else {
		rc = gnutls_certificate_set_x509_trust_file(t->cred, p->trust_file,
							    GNUTLS_X509_FMT_PEM);
		if (rc <= 0)
			return file_error(e, "tls_trust_file", p->trust_file, rc);
	}
	if (p->crl_file) {
		rc = gnutls_certificate_set_x509_crl_file(t->cred, p->crl_file,
							  GNUTLS_X509_FMT_PEM);
		if (rc < 0)
			return file_error(e, "tls_crl_file", p->crl_file, rc);
	}
	return 0;
}

static int
load_credentials(struct tls *t, const struct tls_params *p, struct error *e)
{
	int rc;

	rc = gnutls_certificate_allocate_credentials(&t->cred);
	if (rc < 0)
		return error_set(e, ST_OSERR, _("cannot set up TLS: %s"), gnutls_strerror(rc));
	if (t->check == CHECK_CA && load_trust(t, p, e) < 0)
		return -1;
	if (!p->cert_file != !p->key_file)
		return error_set(e, ST_CONFIG,
				 _("tls_cert_file and tls_key_file must be set together"));
	if (p->cert_file) {
		rc = gnutls_certificate_set_x509_key_file(t->cred, p->cert_file, p->key_file,
							  GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			if (access(p->key_file, R_OK) < 0)
				return file_error(e, "tls_key_file", p->key_file, rc);
			if (access(p->cert_file, R_OK) < 0)
				return file_error(e, "tls_cert_file", p->cert_file, rc);
			return error_set(e, ST_CONFIG,
					 _("cannot load tls_cert_file %s with tls_key_file %s: %s"),
					 p->cert_file, p->key_file, gnutls_strerror(rc));
		}
	}
	return 0;
}

static bool
is_address_literal(const char *name)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

/* The transport functions: the socket, except that while tls_write_all
 * runs the records are gathered and then sent in one system call, not one
 * per 16 KiB record. */
static ssize_t
push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct tls *t = ptr;

	if (t->gathering) {
		if (buf_append(&t->out, data, len) < 0) {
			errno = ENOBUFS;
			return -1;
		}
		return (ssize_t)len;
	}
	return send(t->fd, data, len, MSG_NOSIGNAL);
}

static ssize_t
pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct tls *t = ptr;
	ssize_t n = recv(t->fd, data, len, 0);

	if (n > 0)
		net_ack_now(t->fd);
	return n;
}

static int
pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls *t = ptr;

	return net_wait(t->fd, POLLIN, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

static int
set_up_session(struct tls *t, const struct tls_params *p, struct error *e)
{
	const char *priorities = p->priorities ? p->priorities : "NORMAL";
	const char *where = NULL;
	int rc;

	rc = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (rc < 0) {
		t->session = NULL;
		return error_set(e, ST_OSERR, _("cannot set up TLS: %s"), gnutls_strerror(rc));
	}
	rc = gnutls_priority_set_direct(t->session, priorities, &where);
	if (rc == GNUTLS_E_INVALID_REQUEST && where)
		return error_set(e, ST_CONFIG, _("invalid tls_priorities '%s': error at '%s'"),
				 priorities, where);
	if (rc < 0)
		return error_set(e, ST_CONFIG, _("invalid tls_priorities '%s': %s"), priorities,
				 gnutls_strerror(rc));
	rc = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred);
	if (rc < 0)
		return error_set(e, ST_OSERR, _("cannot set up TLS: %s"), gnutls_strerror(rc));
	/* RFC 6066 section 3: literal IP addresses are not permitted in SNI. */
	if (!is_address_literal(t->name)) {
		rc = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, t->name, strlen(t->name));
		if (rc < 0)
			return error_set(e, ST_CONFIG, _("cannot use %s as a TLS server name: %s"),
					 t->name, gnutls_strerror(rc));
	}
	gnutls_session_set_ptr(t->session, t);
	if (t->check != CHECK_NONE)
		gnutls_session_set_verify_function(t->session, tls_verify_peer);
	gnutls_transport_set_ptr(t->session, t);
	gnutls_transport_set_push_function(t->session, push);
	gnutls_transport_set_pull_function(t->session, pull);
	gnutls_transport_set_pull_timeout_function(t->session, pull_timeout);
	/* The caller's timeout bounds the handshake, not GnuTLS's default. */
	gnutls_handshake_set_timeout(t->session, 0);
	return 0;
}

/* After GNUTLS_E_AGAIN or INTERRUPTED, waits for the direction GnuTLS is
 * blocked on.  Returns 1 to try again, 0 on timeout, -1 with errno set. */
static int
wait_for_io(struct tls *t, int64_t deadline)
{
	short events = gnutls_record_get_direction(t->session) ? POLLOUT : POLLIN;

	return net_wait(t->fd, events, net_remaining(deadline));
}

/* Pull and push errors are the socket's: its errno says more. */
static const char *
io_reason(int rc, int saved_errno)
{
	if ((rc == GNUTLS_E_PULL_ERROR || rc == GNUTLS_E_PUSH_ERROR) && saved_errno != 0)
		return strerror(saved_errno);
	return gnutls_strerror(rc);
}

static int
handshake_error(struct tls *t, int rc, int saved_errno, struct error *e)
{
	if (t->verify_error.status != ST_OK) {
		*e = t->verify_error;
		return -1;
	}
	for (size_t i = 0; i < sizeof handshake_failures / sizeof handshake_failures[0]; i++) {
		if (handshake_failures[i].code != rc)
			continue;
		if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
			return error_set(
				e, ST_CONFIG,
				_("TLS handshake with %s failed: the server sent alert '%s'; %s"),
				t->name, gnutls_alert_get_name(gnutls_alert_get(t->session)),
				_(handshake_failures[i].hint));
		return error_set(e, ST_CONFIG, _("TLS handshake with %s failed: %s"), t->name,
				 _(handshake_failures[i].hint));
	}
	if (rc == GNUTLS_E_PREMATURE_TERMINATION)
		return error_set(e, ST_CONNECT,
				 _("connection closed by %s during the TLS handshake"), t->name);
	return error_set(e, ST_CONNECT, _("TLS handshake with %s failed: %s"), t->name,
			 io_reason(rc, saved_errno));
}

static int
handshake(struct tls *t, int timeout_ms, struct error *e)
{
	int64_t deadline = net_deadline(timeout_ms);
	int rc, saved_errno;

	for (;;) {
		errno = 0;
		rc = gnutls_handshake(t->session);
		saved_errno = errno;
		if (rc == 0)
			return 0;
		if (gnutls_error_is_fatal(rc))
			return handshake_error(t, rc, saved_errno, e);
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
			continue; /* a warning alert: carry on */
		switch (wait_for_io(t, deadline)) {
		case 0:
			return error_set(e, ST_CONNECT,
					 _("TLS handshake with %s timed out after %g s"), t->name,
					 timeout_ms / 1000.0);
		case -1:
			return error_set(e, ST_CONNECT, _("TLS handshake with %s failed: %s"),
					 t->name, strerror(errno));
		}
	}
}

static void
tls_free(struct tls *t)
{
	if (t->session)
		gnutls_deinit(t->session);
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	free(t->name);
	buf_free(&t->out);
	free(t);
}

struct tls *
tls_start(int fd, const struct tls_params *p, struct error *e)
{
	struct tls *t = xcalloc(1, sizeof *t);

	t->fd = fd;
	buf_init(&t->out, 0);
	t->name = xstrdup(p->host_override ? p->host_override : p->host);
	t->check = p->certcheck ? CHECK_CA : CHECK_NONE;
	error_clear(&t->verify_error);
	if (p->fingerprint && tls_set_pin(t, p->fingerprint, e) < 0)
		goto fail;
	if (load_credentials(t, p, e) < 0 || set_up_session(t, p, e) < 0 ||
	    handshake(t, p->timeout_ms, e) < 0)
		goto fail;
	return t;
fail:
	tls_free(t);
	return NULL;
}

/* GnuTLS refuses a session after a fatal error with a vague message. */
static int
broken_error(const struct tls *t, struct error *e)
{
	return error_set(e, ST_CONNECT, _("the TLS connection to %s already failed"), t->name);
}

ssize_t
tls_read(struct tls *t, void *buf, size_t n, int timeout_ms, struct error *e)
{
	int64_t deadline = net_deadline(timeout_ms);
	ssize_t rc;
	int saved_errno;

	if (t->broken)
		return broken_error(t, e);
	for (;;) {
		errno = 0;
		rc = gnutls_record_recv(t->session, buf, n);
		saved_errno = errno;
		if (rc >= 0)
			return rc;
		if (rc == GNUTLS_E_PREMATURE_TERMINATION) {
			t->broken = true;
			return error_set(e, ST_CONNECT,
					 _("connection closed by server during TLS read"));
		}
		if (gnutls_error_is_fatal((int)rc)) {
			t->broken = true;
			return error_set(e, ST_CONNECT, _("TLS read from server failed: %s"),
					 io_reason((int)rc, saved_errno));
		}
		/* Warning alerts and a TLS 1.2 renegotiation request, which a
		 * client may ignore, need no waiting. */
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
			continue;
		if (gnutls_record_check_pending(t->session) > 0)
			continue;
		switch (wait_for_io(t, deadline)) {
		case 0:
			t->broken = true;
			return error_set(
				e, ST_CONNECT,
				_("TLS read timed out after %g s without an answer from the "
				  "server"),
				timeout_ms / 1000.0);
		case -1:
			t->broken = true;
			return error_set(e, ST_CONNECT, _("TLS read from server failed: %s"),
					 strerror(errno));
		}
	}
}

int
tls_write_all(struct tls *t, const void *buf, size_t n, int timeout_ms, struct error *e)
{
	int64_t deadline = net_deadline(timeout_ms);
	const char *p = buf;
	ssize_t rc;
	int saved_errno;

	if (t->broken)
		return broken_error(t, e);
	/* Every record of this buffer is gathered by push(): the socket is
	 * not touched until they all go out together below. */
	t->gathering = true;
	buf_reset(&t->out);
	while (n > 0) {
		errno = 0;
		rc = gnutls_record_send(t->session, p, n < RECORD_MAX ? n : RECORD_MAX);
		saved_errno = errno;
		if (rc > 0) {
			p += rc;
			n -= (size_t)rc;
			continue;
		}
		if (rc == GNUTLS_E_INTERRUPTED)
			continue;
		t->gathering = false;
		t->broken = true;
		return error_set(e, ST_CONNECT, _("TLS write to server failed: %s"),
				 rc == 0 ? _("nothing was sent") : io_reason((int)rc, saved_errno));
	}
	t->gathering = false;
	if (net_send_all(t->fd, t->out.data, t->out.len, net_remaining(deadline)) < 0) {
		t->broken = true;
		if (errno == ETIMEDOUT)
			return error_set(e, ST_CONNECT,
					 _("TLS write timed out after %g s: the server stopped "
					   "reading"),
					 timeout_ms / 1000.0);
		return error_set(e, ST_CONNECT, _("TLS write to server failed: %s"),
				 strerror(errno));
	}
	buf_reset(&t->out);
	return 0;
}

void
tls_close(struct tls *t)
{
	int64_t deadline = net_deadline(CLOSE_TIMEOUT_MS);
	int rc;

	if (!t)
		return;
	while (!t->broken) {
		rc = gnutls_bye(t->session, GNUTLS_SHUT_WR);
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
			break;
		if (wait_for_io(t, deadline) <= 0)
			break;
	}
	tls_free(t);
}

int
tls_channel_binding(const struct tls *t, const char *type, unsigned char **out, size_t *len)
{
	gnutls_datum_t cb;

	for (size_t i = 0; i < sizeof channel_bindings / sizeof channel_bindings[0]; i++) {
		if (strcmp(channel_bindings[i].name, type) != 0)
			continue;
		/* RFC 9266 section 4.2: without TLS 1.3 or the extended master
		 * secret, tls-exporter does not bind to a unique session. */
		if (channel_bindings[i].type == GNUTLS_CB_TLS_EXPORTER && !tls_is_tls13(t) &&
		    !gnutls_session_ext_master_secret_status(t->session))
			return -1;
		if (gnutls_session_channel_binding(t->session, channel_bindings[i].type, &cb) < 0)
			return -1;
		*out = xmalloc(cb.size ? cb.size : 1);
		memcpy(*out, cb.data, cb.size);
		*len = cb.size;
		gnutls_free(cb.data);
		return 0;
	}
	return -1;
}

bool
tls_is_tls13(const struct tls *t)
{
	return gnutls_protocol_get_version(t->session) == GNUTLS_TLS1_3;
}
