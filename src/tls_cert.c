/* tls_cert.c - what outbox does with the server's TLS certificate: checks
 * it against the trust settings or the tls_fingerprint pin, explains a
 * rejection (the reason, the fix and the fingerprint to pin), and describes
 * it for --serverinfo.  Untrusted data: the certificate, whose names and
 * DNs are reduced to printable ASCII before they reach a message. */
#include "config.h"

#include "tls_private.h"

#include "i18n.h"

#include <arpa/inet.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* How many certificate names an error message or description lists. */
#define NAMES_SHOWN 6
#define NAMES_SCANNED 64
#define NAME_MAX_LEN 256

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

/* Certificate text comes from the server: keep it from steering the
 * terminal. */
static void
make_printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

int
tls_set_pin(struct tls *t, const char *fingerprint, struct error *e)
{
	int len = fingerprint_parse(fingerprint, t->pin, DIGEST_MAX);

	for (size_t i = 0; i < sizeof pin_kinds / sizeof pin_kinds[0]; i++) {
		if (pin_kinds[i].len == (size_t)len) {
			t->check = CHECK_PIN;
			t->pin_algo = pin_kinds[i].algo;
			t->pin_len = (size_t)len;
			return 0;
		}
	}
	return error_set(e, ST_CONFIG,
			 _("tls_fingerprint '%s' is not a SHA-256 fingerprint "
			   "(32 hexadecimal pairs like AA:BB:...)"),
			 fingerprint);
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
		hex_encode(md, len, true, ':', out);
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
		buf_printf(&msg,
			   _(", or pin it by adding this line to the account: "
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
	hex_encode(t->pin, t->pin_len, true, ':', want);
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
verify_chain(gnutls_session_t session, char *name, unsigned *status)
{
	/* GnuTLS takes the data non-const, and does not write it. */
	static char server_purpose[] = GNUTLS_KP_TLS_WWW_SERVER;
	gnutls_typed_vdata_st data[] = {
		{.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)name},
		{.type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (unsigned char *)server_purpose},
	};

	return gnutls_certificate_verify_peers(session, data, 2, status);
}

int
tls_verify_peer(gnutls_session_t session)
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
