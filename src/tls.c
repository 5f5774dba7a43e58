/* tls.c - the GnuTLS client: credentials from the tls_* settings, the
 * handshake with certificate verification or fingerprint pinning, bounded
 * record reads and writes over a non-blocking descriptor, and the
 * description and channel binding of an established session.  Untrusted
 * data: everything the server sends, in particular its certificate, whose
 * names and DNs are reduced to printable ASCII before they reach a message. */
#include "config.h"

#include "tls.h"

#include "i18n.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One full TLS record of plaintext (RFC 8446 section 5.1). */
#define RECORD_MAX 16384
/* close_notify is a courtesy: never wait long for it. */
#define CLOSE_TIMEOUT_MS 500
/* SHA-256 as AA:BB:..., the longest digest accepted. */
#define DIGEST_MAX 32
#define HEX_MAX (DIGEST_MAX * 3)
/* How many certificate names an error message or description lists. */
#define NAMES_SHOWN 6
#define NAMES_SCANNED 64
#define NAME_MAX_LEN 256

enum check {
	CHECK_NONE, /* tls_certcheck off */
	CHECK_CA,   /* chain to a trusted CA, and the name */
	CHECK_PIN,  /* tls_fingerprint */
};

struct tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	int fd;
	char *name; /* the name the certificate is checked against */
	enum check check;
	gnutls_digest_algorithm_t pin_algo;
	unsigned char pin[DIGEST_MAX];
	size_t pin_len;
	struct error verify_error; /* set by verify_peer() when it rejects */
	bool broken;               /* a fatal error happened: no close_notify */
	bool gathering;            /* tls_write_all: records collect in out */
	struct buf out;            /* records waiting for one send() */
};

/* tls_fingerprint lengths that msmtp accepts; MD5 is not. */
static const struct {
	size_t len;
	gnutls_digest_algorithm_t algo;
} pin_kinds[] = {
	{32, GNUTLS_DIG_SHA256},
	{20, GNUTLS_DIG_SHA1},
};

enum detail { DETAIL_NONE, DETAIL_NAMES, DETAIL_EXPIRATION, DETAIL_ACTIVATION };

/* Verification failures in the order they are reported: the first flag
 * present in the status wins. */
static const struct {
	unsigned flag;
	const char *reason;
	enum detail detail;
	const char *fix;
	bool offer_pin;
} verify_failures[] = {
	{GNUTLS_CERT_SIGNER_NOT_FOUND, N_("is not trusted: signer not found"), DETAIL_NONE,
	 N_("set tls_trust_file to the CA that signed it"), true},
	{GNUTLS_CERT_SIGNER_NOT_CA, N_("is not trusted: its signer is not a CA"), DETAIL_NONE,
	 N_("set tls_trust_file to the CA that signed it"), true},
	{GNUTLS_CERT_REVOKED, N_("has been revoked"), DETAIL_NONE,
	 N_("ask the server's administrator for a new certificate"), false},
	{GNUTLS_CERT_EXPIRED, N_("expired on"), DETAIL_EXPIRATION,
	 N_("ask the server's administrator to renew it"), true},
	{GNUTLS_CERT_NOT_ACTIVATED, N_("is not valid before"), DETAIL_ACTIVATION,
	 N_("check the system clock"), false},
	{GNUTLS_CERT_INSECURE_ALGORITHM, N_("uses an insecure signature algorithm"), DETAIL_NONE,
	 N_("ask the server's administrator for a new certificate"), true},
	{GNUTLS_CERT_PURPOSE_MISMATCH, N_("is not meant for a TLS server"), DETAIL_NONE,
	 N_("ask the server's administrator for a server certificate"), true},
	{GNUTLS_CERT_UNEXPECTED_OWNER, N_("is issued for"), DETAIL_NAMES,
	 N_("check host or set tls_host_override"), false},
};

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

/* Certificate text comes from the server: keep it from steering the
 * terminal. */
static void
make_printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static int
hex_value(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(digits, c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	return p ? (int)(p - digits) : -1;
}

/* "AA:BB:..." -> bytes; returns the length or -1. */
static int
parse_fingerprint(const char *s, unsigned char *md)
{
	size_t n = 0;
	int hi, lo;

	for (;;) {
		hi = hex_value(s[0]);
		lo = hi < 0 ? -1 : hex_value(s[1]);
		if (lo < 0 || n == DIGEST_MAX)
			return -1;
		md[n++] = (unsigned char)(hi << 4 | lo);
		if (s[2] == '\0')
			return (int)n;
		if (s[2] != ':')
			return -1;
		s += 3;
	}
}

static void
format_hex(const unsigned char *md, size_t len, char out[HEX_MAX])
{
	static const char digits[] = "0123456789ABCDEF";

	out[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		out[i * 3] = digits[md[i] >> 4];
		out[i * 3 + 1] = digits[md[i] & 15];
		out[i * 3 + 2] = i + 1 < len ? ':' : '\0';
	}
}

static int
cert_fingerprint(const gnutls_datum_t *der, gnutls_digest_algorithm_t algo,
		 unsigned char md[DIGEST_MAX], size_t *len)
{
	*len = DIGEST_MAX;
	return gnutls_fingerprint(algo, der, md, len) < 0 ? -1 : 0;
}

static void
cert_fingerprint_hex(const gnutls_datum_t *der, gnutls_digest_algorithm_t algo, char out[HEX_MAX])
{
	unsigned char md[DIGEST_MAX];
	size_t len;

	if (cert_fingerprint(der, algo, md, &len) < 0)
		snprintf(out, HEX_MAX, "?");
	else
		format_hex(md, len, out);
}

static void
format_time(time_t when, char *out, size_t size)
{
	struct tm tm;

	if (when == (time_t)-1 || !gmtime_r(&when, &tm) ||
	    strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, size, "?");
}

/* The server's end-entity certificate, DER and parsed. */
static int
peer_certificate(gnutls_session_t session, gnutls_datum_t *der, gnutls_x509_crt_t *crt)
{
	const gnutls_datum_t *list;
	unsigned n = 0;

	list = gnutls_certificate_get_peers(session, &n);
	if (!list || n == 0 || gnutls_x509_crt_init(crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(*crt, &list[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*crt);
		return -1;
	}
	*der = list[0];
	return 0;
}

/* The DNS names and IP addresses a certificate is for (its common name
 * when it has none), comma-separated, at most NAMES_SHOWN of them. */
static void
cert_names(gnutls_x509_crt_t crt, struct buf *out)
{
	char name[NAME_MAX_LEN];
	unsigned shown = 0;

	for (unsigned seq = 0; seq < NAMES_SCANNED; seq++) {
		size_t size = sizeof name - 1;
		char ip[INET6_ADDRSTRLEN];
		int type;

		type = gnutls_x509_crt_get_subject_alt_name(crt, seq, name, &size, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			name[size] = '\0';
		} else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16) &&
			   inet_ntop(size == 4 ? AF_INET : AF_INET6, name, ip, sizeof ip)) {
			snprintf(name, sizeof name, "%s", ip);
		} else {
			continue;
		}
		if (shown == NAMES_SHOWN) {
			buf_puts(out, ", ...");
			return;
		}
		make_printable(name);
		buf_printf(out, "%s%s", shown++ ? ", " : "", name);
	}
	if (shown == 0) {
		size_t size = sizeof name;

		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, name,
						  &size) < 0)
			snprintf(name, sizeof name, "%s", _("(no name)"));
		make_printable(name);
		buf_puts(out, name);
	}
}

static void
reject_untrusted(struct tls *t, unsigned status, gnutls_x509_crt_t crt, const gnutls_datum_t *der)
{
	struct buf msg, detail;
	const char *reason = N_("is not trusted:"), *fix = verify_failures[0].fix;
	bool offer_pin = true;
	char when[64], fp[HEX_MAX];
	gnutls_datum_t text = {NULL, 0};
	size_t i;

	buf_init(&msg, 0); /* error_set() cuts it to size */
	buf_init(&detail, ERROR_MSG_MAX / 2);
	for (i = 0; i < sizeof verify_failures / sizeof verify_failures[0]; i++)
		if (status & verify_failures[i].flag)
			break;
	if (i < sizeof verify_failures / sizeof verify_failures[0]) {
		reason = verify_failures[i].reason;
		fix = verify_failures[i].fix;
		offer_pin = verify_failures[i].offer_pin;
		switch (verify_failures[i].detail) {
		case DETAIL_NONE:
			break;
		case DETAIL_NAMES:
			cert_names(crt, &detail);
			break;
		case DETAIL_EXPIRATION:
			format_time(gnutls_x509_crt_get_expiration_time(crt), when, sizeof when);
			buf_puts(&detail, when);
			break;
		case DETAIL_ACTIVATION:
			format_time(gnutls_x509_crt_get_activation_time(crt), when, sizeof when);
			buf_puts(&detail, when);
			break;
		}
	} else if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text,
								0) == 0) {
		buf_append(&detail, text.data, text.size);
		gnutls_free(text.data);
		make_printable(detail.data);
	}
	buf_printf(&msg, _("TLS certificate of %s"), t->name);
	buf_printf(&msg, " %s", _(reason));
	if (detail.len > 0)
		buf_printf(&msg, " %s", detail.data);
	buf_printf(&msg, "; %s", _(fix));
	if (offer_pin) {
		cert_fingerprint_hex(der, GNUTLS_DIG_SHA256, fp);
		/* Last, and without quotes: the line as it goes into the file. */
		buf_printf(&msg, _(", or pin it by adding this line to the account: "
				   "tls_fingerprint %s"),
			   fp);
	}
	error_set(&t->verify_error, ST_CONFIG, "%s", msg.data);
	buf_free(&detail);
	buf_free(&msg);
}

static int
check_pin(struct tls *t, const gnutls_datum_t *der)
{
	unsigned char md[DIGEST_MAX];
	char want[HEX_MAX], seen[HEX_MAX];
	size_t len;

	if (cert_fingerprint(der, t->pin_algo, md, &len) == 0 && len == t->pin_len &&
	    memcmp(md, t->pin, len) == 0)
		return 0;
	format_hex(t->pin, t->pin_len, want);
	cert_fingerprint_hex(der, t->pin_algo, seen);
	return error_set(&t->verify_error, ST_CONFIG,
			 _("TLS certificate of %s does not match tls_fingerprint: expected %s, "
			   "seen %s; if the server's certificate was replaced, check the new one "
			   "and update tls_fingerprint"),
			 t->name, want, seen);
}

/* What gnutls_session_set_verify_cert() checks: the chain, the name (an
 * address literal is matched against the IP addresses), and that the
 * certificate is meant for a TLS server. */
static int
verify_chain(gnutls_session_t session, const char *name, unsigned *status)
{
	gnutls_typed_vdata_st data[] = {
		{.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)name},
		{.type = GNUTLS_DT_KEY_PURPOSE_OID,
		 .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER},
	};

	return gnutls_certificate_verify_peers(session, data, 2, status);
}

/* Called by GnuTLS once the server's certificate has arrived, before the
 * client sends anything of its own: returning non-zero aborts the
 * handshake. */
static int
verify_peer(gnutls_session_t session)
{
	struct tls *t = gnutls_session_get_ptr(session);
	gnutls_x509_crt_t crt;
	gnutls_datum_t der;
	unsigned status = 0;
	int rc;

	if (peer_certificate(session, &der, &crt) < 0)
		return error_set(&t->verify_error, ST_CONFIG,
				 _("the server %s sent no usable TLS certificate"), t->name);
	if (t->check == CHECK_PIN) {
		rc = check_pin(t, &der);
	} else {
		rc = verify_chain(session, t->name, &status);
		if (rc < 0)
			error_set(&t->verify_error, ST_CONFIG,
				  _("cannot verify the TLS certificate of %s: %s"), t->name,
				  gnutls_strerror(rc));
		else if (status != 0)
			reject_untrusted(t, status, crt, &der);
		rc = rc < 0 || status != 0 ? -1 : 0;
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}

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

	return recv(t->fd, data, len, 0);
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
		gnutls_session_set_verify_function(t->session, verify_peer);
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
	int len;

	t->fd = fd;
	buf_init(&t->out, 0);
	t->name = xstrdup(p->host_override ? p->host_override : p->host);
	t->check = p->certcheck ? CHECK_CA : CHECK_NONE;
	error_clear(&t->verify_error);
	if (p->fingerprint) {
		len = parse_fingerprint(p->fingerprint, t->pin);
		for (size_t i = 0; i < sizeof pin_kinds / sizeof pin_kinds[0]; i++) {
			if (pin_kinds[i].len == (size_t)len) {
				t->check = CHECK_PIN;
				t->pin_algo = pin_kinds[i].algo;
				t->pin_len = (size_t)len;
			}
		}
		if (t->check != CHECK_PIN) {
			error_set(e, ST_CONFIG,
				  _("tls_fingerprint '%s' is not a SHA-256 fingerprint "
				    "(32 hexadecimal pairs like AA:BB:...)"),
				  p->fingerprint);
			goto fail;
		}
	}
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

static void
describe_dn(struct buf *out, const char *key,
	    int (*get)(gnutls_x509_crt_t, gnutls_datum_t *, unsigned), gnutls_x509_crt_t crt)
{
	gnutls_datum_t dn = {NULL, 0};
	char *text;

	if (get(crt, &dn, 0) < 0) {
		buf_printf(out, "  %s: ?\n", key);
		return;
	}
	text = xstrndup((const char *)dn.data, dn.size);
	gnutls_free(dn.data);
	make_printable(text);
	buf_printf(out, "  %s: %s\n", key, text);
	free(text);
}

static const char *
verification_result(const struct tls *t)
{
	static const char *const results[] = {
		[CHECK_NONE] = N_("not checked (tls_certcheck off)"),
		[CHECK_CA] = N_("trusted"),
		[CHECK_PIN] = N_("matches tls_fingerprint"),
	};

	return _(results[t->check]);
}

int
tls_describe(const struct tls *t, struct buf *out)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t der;
	struct buf lines;
	char *desc, when[64], fp[HEX_MAX];
	int rc;

	/* Built apart and appended whole, so that a full out gets nothing
	 * rather than a description with holes. */
	buf_init(&lines, 0);
	desc = gnutls_session_get_desc(t->session);
	buf_printf(&lines, "  protocol: %s\n",
		   gnutls_protocol_get_name(gnutls_protocol_get_version(t->session)));
	buf_printf(&lines, "  cipher: %s\n", desc ? desc : "?");
	gnutls_free(desc);
	if (peer_certificate(t->session, &der, &crt) == 0) {
		describe_dn(&lines, "subject", gnutls_x509_crt_get_dn3, crt);
		describe_dn(&lines, "issuer", gnutls_x509_crt_get_issuer_dn3, crt);
		buf_puts(&lines, "  names: ");
		cert_names(crt, &lines);
		buf_puts(&lines, "\n");
		format_time(gnutls_x509_crt_get_activation_time(crt), when, sizeof when);
		buf_printf(&lines, "  activation: %s\n", when);
		format_time(gnutls_x509_crt_get_expiration_time(crt), when, sizeof when);
		buf_printf(&lines, "  expiration: %s\n", when);
		cert_fingerprint_hex(&der, GNUTLS_DIG_SHA256, fp);
		buf_printf(&lines, "  sha256: %s\n", fp);
		cert_fingerprint_hex(&der, GNUTLS_DIG_SHA1, fp);
		buf_printf(&lines, "  sha1: %s\n", fp);
		gnutls_x509_crt_deinit(crt);
	}
	buf_printf(&lines, "  verification: %s\n", verification_result(t));
	rc = buf_append(out, lines.data, lines.len);
	buf_free(&lines);
	return rc;
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
