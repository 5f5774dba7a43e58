/* oauth2_http.c - the only file that knows libcurl and json-c: POSTs to
 * the OAuth2 endpoints over HTTPS and reads their JSON answers, and GETs
 * the autoconfig files of --configure (http.h).  Both
 * libraries are loaded with dlopen on first use, as keyring.c loads
 * libsecret, so that runs without OAuth2 start as fast as before.
 *
 * Untrusted input: what the endpoints answer (bounded to 64 KiB, parsed by
 * json-c, every field checked for type; tokens must be visible ASCII) and
 * a server's AUTH error challenge (the same). */
#include "config.h"

#include "http.h"
#include "oauth2.h"

#include "i18n.h"

/* The function-like macros of curl's type checks would hide the pointers
 * below. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <json-c/json.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_SYMBOLS(X)                                                                            \
	X(curl_easy_cleanup)                                                                       \
	X(curl_easy_getinfo)                                                                       \
	X(curl_easy_init)                                                                          \
	X(curl_easy_perform)                                                                       \
	X(curl_easy_setopt)                                                                        \
	X(curl_easy_strerror)                                                                      \
	X(curl_slist_append)                                                                       \
	X(curl_slist_free_all)

#define JSON_SYMBOLS(X)                                                                            \
	X(json_object_get_int64)                                                                   \
	X(json_object_get_string)                                                                  \
	X(json_object_get_string_len)                                                              \
	X(json_object_get_type)                                                                    \
	X(json_object_object_get_ex)                                                               \
	X(json_object_put)                                                                         \
	X(json_tokener_parse_verbose)

#define HTTP_POINTER(name) static __typeof__(name) *p_##name;
HTTP_SYMBOLS(HTTP_POINTER)
JSON_SYMBOLS(HTTP_POINTER)
#undef HTTP_POINTER

struct symbol {
	const char *name;
	void **slot;
};

#define HTTP_ENTRY(name) {#name, (void **)&p_##name},
static const struct symbol curl_symbols[] = {HTTP_SYMBOLS(HTTP_ENTRY)};
static const struct symbol json_symbols[] = {JSON_SYMBOLS(HTTP_ENTRY)};
#undef HTTP_ENTRY

#define CURL_LIBRARY "libcurl-gnutls.so.4"
#define JSON_LIBRARY "libjson-c.so.5"
#define HTTP_BODY_MAX (64 * 1024)

/* A library loaded once; NULL when it is, else why it is not. */
struct library {
	const char *file;
	const struct symbol *symbols;
	size_t n;
	bool tried;
	char failure[256];
};

static struct library curl_library = {
	.file = CURL_LIBRARY,
	.symbols = curl_symbols,
	.n = sizeof curl_symbols / sizeof curl_symbols[0],
};
static struct library json_library = {
	.file = JSON_LIBRARY,
	.symbols = json_symbols,
	.n = sizeof json_symbols / sizeof json_symbols[0],
};

static const char *
library_load(struct library *l)
{
	void *lib;

	if (l->tried)
		return l->failure[0] != '\0' ? l->failure : NULL;
	l->tried = true;
	lib = dlopen(l->file, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(l->failure, sizeof l->failure, _("%s cannot be loaded: %s"), l->file,
			 dlerror());
		return l->failure;
	}
	for (size_t i = 0; i < l->n; i++) {
		*l->symbols[i].slot = dlsym(lib, l->symbols[i].name);
		if (*l->symbols[i].slot == NULL) {
			snprintf(l->failure, sizeof l->failure, _("%s has no %s"), l->file,
				 l->symbols[i].name);
			return l->failure;
		}
	}
	return NULL;
}

void
oauth2_url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) != NULL) {
			buf_append(b, s, 1);
		} else {
			char pct[3] = {'%', hex[c >> 4], hex[c & 15]};

			buf_append(b, pct, 3);
		}
	}
}

static size_t
http_collect(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;

	/* Returning less than given makes libcurl stop with an error. */
	return buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

static enum status
http_failure_class(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return ST_CONFIG;
	default:
		return ST_CONNECT;
	}
}

static char *
form_encode(const struct strlist *form)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i + 1 < form->n; i += 2) {
		if (i > 0)
			buf_puts(&b, "&");
		oauth2_url_encode(&b, form->v[i]);
		buf_puts(&b, "=");
		oauth2_url_encode(&b, form->v[i + 1]);
	}
	buf_puts(&b, "");
	return b.data;
}

/* Sets what every request shares (HTTPS only, also after a redirect;
 * the trust file; the deadline; the bounded body), performs it and
 * cleans h up.  0 with *status, or -1 with e naming url. */
static int
http_perform(CURL *h, const char *url, const char *trust_file, int timeout_ms, struct buf *body,
	     long *status, struct error *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	buf_init(body, HTTP_BODY_MAX);
	(*p_curl_easy_setopt)(h, CURLOPT_URL, url);
	(*p_curl_easy_setopt)(h, CURLOPT_PROTOCOLS_STR, "https");
	(*p_curl_easy_setopt)(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	(*p_curl_easy_setopt)(h, CURLOPT_NOSIGNAL, 1L);
	(*p_curl_easy_setopt)(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	(*p_curl_easy_setopt)(h, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	(*p_curl_easy_setopt)(h, CURLOPT_WRITEFUNCTION, http_collect);
	(*p_curl_easy_setopt)(h, CURLOPT_WRITEDATA, body);
	(*p_curl_easy_setopt)(h, CURLOPT_ERRORBUFFER, errbuf);
	if (trust_file != NULL)
		(*p_curl_easy_setopt)(h, CURLOPT_CAINFO, trust_file);
	rc = (*p_curl_easy_perform)(h);
	if (rc == CURLE_OK)
		(*p_curl_easy_getinfo)(h, CURLINFO_RESPONSE_CODE, status);
	(*p_curl_easy_cleanup)(h);
	if (rc != CURLE_OK) {
		buf_free(body);
		return error_set(e, http_failure_class(rc), "%s: %.300s", url,
				 errbuf[0] != '\0' ? errbuf : (*p_curl_easy_strerror)(rc));
	}
	return 0;
}

/* A new libcurl handle, or NULL with e saying why (what names the user). */
static CURL *
http_start(const char *what, struct error *e)
{
	const char *why = library_load(&curl_library);
	CURL *h;

	if (why != NULL) {
		error_set(e, ST_CONFIG, _("%s needs libcurl: %s"), what, why);
		return NULL;
	}
	h = (*p_curl_easy_init)();
	if (h == NULL)
		error_set(e, ST_OSERR, _("libcurl could not start"));
	return h;
}

int
oauth2_http_post(const char *url, const char *trust_file, int timeout_ms,
		 const struct strlist *form, struct buf *body, long *status, struct error *e)
{
	struct curl_slist *headers;
	CURL *h = http_start("OAuth2", e);
	char *fields;
	int rc;

	if (h == NULL)
		return -1;
	fields = form_encode(form);
	headers = (*p_curl_slist_append)(NULL, "Accept: application/json");
	(*p_curl_easy_setopt)(h, CURLOPT_POSTFIELDS, fields);
	(*p_curl_easy_setopt)(h, CURLOPT_HTTPHEADER, headers);
	rc = http_perform(h, url, trust_file, timeout_ms, body, status, e);
	(*p_curl_slist_free_all)(headers);
	/* The form holds a refresh token or a code. */
	free_secret(fields);
	return rc;
}

int
http_get(const char *url, const char *trust_file, int timeout_ms, struct buf *body, long *status,
	 struct error *e)
{
	CURL *h = http_start(_("the server lookup"), e);

	if (h == NULL)
		return -1;
	/* Providers move their autoconfig files about (RFC 9110 15.4);
	 * CURLOPT_REDIR_PROTOCOLS_STR keeps every hop on HTTPS. */
	(*p_curl_easy_setopt)(h, CURLOPT_FOLLOWLOCATION, 1L);
	(*p_curl_easy_setopt)(h, CURLOPT_MAXREDIRS, 3L);
	return http_perform(h, url, trust_file, timeout_ms, body, status, e);
}

/* ---- JSON ---- */

static bool
is_visible_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return n > 0;
}

/* A string member: text for anything, tokens visible ASCII only. */
static int
json_take_string(json_object *o, const char *name, bool token, char **out)
{
	json_object *v;
	const char *s;
	size_t n;

	if (!(*p_json_object_object_get_ex)(o, name, &v) || v == NULL)
		return 0;
	if ((*p_json_object_get_type)(v) != json_type_string)
		return -1;
	s = (*p_json_object_get_string)(v);
	n = (size_t)(*p_json_object_get_string_len)(v);
	if (memchr(s, '\0', n) != NULL || (token && !is_visible_ascii(s, n)))
		return -1;
	*out = xstrndup(s, n);
	return 0;
}

/* A number member, or a string holding one (older Microsoft endpoints). */
static int
json_take_long(json_object *o, const char *name, long max, long *out)
{
	json_object *v;
	long n;

	if (!(*p_json_object_object_get_ex)(o, name, &v) || v == NULL)
		return 0;
	if ((*p_json_object_get_type)(v) == json_type_int) {
		int64_t i = (*p_json_object_get_int64)(v);

		if (i < 0 || i > max)
			return -1;
		*out = (long)i;
		return 0;
	}
	if ((*p_json_object_get_type)(v) == json_type_string &&
	    parse_long((*p_json_object_get_string)(v), 0, max, &n) == 0) {
		*out = n;
		return 0;
	}
	return -1;
}

/* The JSON object in text, or NULL. */
static json_object *
json_parse_object(const char *text, size_t n, struct error *e)
{
	enum json_tokener_error jerr;
	const char *why = library_load(&json_library);
	json_object *o;

	if (why != NULL) {
		error_set(e, ST_CONFIG, _("OAuth2 needs json-c: %s"), why);
		return NULL;
	}
	/* json-c reads up to a NUL: one inside would hide the rest. */
	if (memchr(text, '\0', n) != NULL || text[n] != '\0') {
		error_set(e, ST_SERVER_TEMP, _("the OAuth2 endpoint's answer is not JSON"));
		return NULL;
	}
	o = (*p_json_tokener_parse_verbose)(text, &jerr);
	if (o != NULL && (*p_json_object_get_type)(o) == json_type_object)
		return o;
	if (o != NULL)
		(*p_json_object_put)(o);
	error_set(e, ST_SERVER_TEMP, _("the OAuth2 endpoint's answer is not a JSON object"));
	return NULL;
}

#define DAY_S 86400L

int
oauth2_reply_parse(const char *body, size_t n, struct oauth2_reply *r, struct error *e)
{
	char *copy = xstrndup(body, n);
	json_object *o;
	int rc = 0;

	memset(r, 0, sizeof *r);
	o = json_parse_object(copy, n, e);
	if (o == NULL) {
		free_secret(copy);
		return -1;
	}
	rc |= json_take_string(o, "access_token", true, &r->access_token);
	rc |= json_take_string(o, "refresh_token", true, &r->refresh_token);
	rc |= json_take_long(o, "expires_in", 366 * DAY_S, &r->expires_in);
	rc |= json_take_string(o, "error", false, &r->error);
	rc |= json_take_string(o, "error_description", false, &r->error_description);
	rc |= json_take_string(o, "device_code", true, &r->device_code);
	rc |= json_take_string(o, "user_code", false, &r->user_code);
	rc |= json_take_string(o, "verification_uri", false, &r->verification_uri);
	if (r->verification_uri == NULL)
		rc |= json_take_string(o, "verification_url", false, &r->verification_uri);
	rc |= json_take_long(o, "interval", 3600, &r->interval);
	r->device_expires_in = r->expires_in;
	(*p_json_object_put)(o);
	free_secret(copy);
	if (rc != 0) {
		oauth2_reply_free(r);
		return error_set(e, ST_SERVER_TEMP,
				 _("the OAuth2 endpoint's answer has a member of the wrong type"));
	}
	return 0;
}

void
oauth2_reply_free(struct oauth2_reply *r)
{
	free_secret(r->access_token);
	free_secret(r->refresh_token);
	free(r->error);
	free(r->error_description);
	free_secret(r->device_code);
	free(r->user_code);
	free(r->verification_uri);
	memset(r, 0, sizeof *r);
}

int
oauth2_explain_challenge(const char *json, size_t n, struct buf *out)
{
	char *copy = xstrndup(json, n), *status = NULL, *scope = NULL;
	struct error ignored;
	json_object *o = json_parse_object(copy, n, &ignored);
	int rc = -1;

	free(copy);
	if (o == NULL)
		return -1;
	if (json_take_string(o, "status", false, &status) == 0 && status != NULL) {
		json_take_string(o, "scope", false, &scope);
		if (strcmp(status, "401") == 0 || strcmp(status, "invalid_token") == 0)
			buf_printf(out,
				   _("the server refused the OAuth2 token (%.40s): it expired or "
				     "was revoked"),
				   status);
		else if (strcmp(status, "400") == 0 || strcmp(status, "insufficient_scope") == 0)
			buf_printf(out,
				   _("the OAuth2 token lacks the scope the server needs (%.40s; "
				     "it asks for %.200s); set oauth2_scope and authorize again"),
				   status, scope != NULL ? scope : "?");
		else
			buf_printf(out, _("the server refused the OAuth2 token (status %.40s)"),
				   status);
		rc = 0;
	}
	free(status);
	free(scope);
	(*p_json_object_put)(o);
	return rc;
}
