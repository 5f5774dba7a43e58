/* oauth2.h - OAuth2 access tokens for AUTH XOAUTH2 and OAUTHBEARER:
 * provider presets, the tokens kept in the keyring, refreshing them at send
 * time, and --authorize (RFC 8628 device grant, or RFC 6749 authorization
 * code with PKCE, RFC 7636, and a loopback redirect, RFC 8252).
 *
 * The keyring item (attributes host, service=oauth2, user) holds the
 * refresh token, the access token and its expiry as "key value" lines.
 * HTTPS and JSON are libcurl's and json-c's (oauth2_http.c), loaded on the
 * first use so that accounts without OAuth2 do not pay for them. */
#ifndef OUTBOX_OAUTH2_H
#define OUTBOX_OAUTH2_H

#include "conf.h"
#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* An access token is refreshed when it has less than this left. */
#define OAUTH2_EXPIRY_MARGIN_S 60
/* How long --authorize waits for the browser's redirect. */
#define OAUTH2_BROWSER_WAIT_S 300

/* The endpoints and client of an account: the provider's presets, with
 * what the account sets in their place. */
struct oauth2_client {
	const char *account;
	const char *provider; /* google, microsoft or custom */
	const char *host;     /* with user: the keyring item's attributes */
	const char *user;
	const char *client_id;
	const char *client_secret; /* NULL: a public client */
	const char *authorize_url; /* NULL: none */
	const char *device_url;    /* NULL: none */
	const char *token_url;
	const char *scope;
	const char *trust_file; /* NULL: the system's CAs */
	int timeout_ms;
	char *owned[3]; /* URLs built from the tenant */
};

/* True when the account gets its token through OAuth2 (oauth2_provider). */
bool oauth2_enabled(const struct account *a);

/* Fills c from a checked account (account_check); oauth2_client_free()
 * frees what it built.  c points into a. */
void oauth2_client_init(struct oauth2_client *c, const struct account *a);
void oauth2_client_free(struct oauth2_client *c);

/* A valid access token for c in *token (newly allocated; the caller wipes
 * it with free_secret): the cached one while it has more than
 * OAUTH2_EXPIRY_MARGIN_S left, else one refreshed with one POST to the
 * token endpoint, the new tokens stored in the keyring before the access
 * token is returned.  A lock file in outbox's state directory makes
 * concurrent processes refresh one after the other (the later one finds
 * the fresh token).  Each process refreshes an account at most once.
 * Errors: ST_CONNECT when the endpoint cannot be reached (the message
 * stays queued); ST_ACCOUNT when there is no token, the keyring cannot be
 * read, or the refresh token was refused (the message names
 * --authorize). */
int oauth2_access_token(const struct oauth2_client *c, char **token, struct error *e);

/* What --authorize tells the person (a URL to open, a code to enter). */
typedef void (*oauth2_say_fn)(const char *line);

/* --authorize: the device grant when c has a device endpoint, else the
 * authorization code grant with PKCE and a redirect to a listener on
 * 127.0.0.1 (the URL opened with xdg-open when there is a display, and
 * said either way); stores the tokens in the keyring. */
int oauth2_authorize(const struct oauth2_client *c, oauth2_say_fn say, struct error *e);

/* --password-source: one line saying where the token comes from and when
 * the cached access token expires, never the token. */
int oauth2_describe(const struct oauth2_client *c, struct buf *out, struct error *e);

/* ---- pure parts, for oauth2.c, the tests and the fuzz target ---- */

/* What the keyring item holds. */
struct oauth2_tokens {
	char *refresh_token;
	char *access_token;
	long long expires_at; /* Unix time; 0: unknown */
};

/* Parses the item's "key value" lines; unknown keys and empty lines are
 * skipped.  -1 when
 * a line is malformed or a token holds a byte that is not visible ASCII. */
int oauth2_tokens_parse(const char *text, size_t n, struct oauth2_tokens *t);
/* The item's text, newly allocated. */
char *oauth2_tokens_format(const struct oauth2_tokens *t);
void oauth2_tokens_free(struct oauth2_tokens *t);

/* A token endpoint's (or device endpoint's) JSON answer, RFC 6749 5.1,
 * 5.2 and RFC 8628 3.2; NULL or 0 for what it lacks. */
struct oauth2_reply {
	char *access_token;
	char *refresh_token;
	long expires_in;
	char *error;
	char *error_description;
	char *device_code;
	char *user_code;
	char *verification_uri; /* Google says verification_url */
	long interval;
	long device_expires_in;
};

/* Parses body as a JSON object (json-c, loaded on first use).  -1 with e
 * set (ST_SERVER_TEMP) when it is not one; a token or code that is not
 * visible ASCII is refused too. */
int oauth2_reply_parse(const char *body, size_t n, struct oauth2_reply *r, struct error *e);
void oauth2_reply_free(struct oauth2_reply *r);

/* The browser's request to the loopback listener, "GET /?code=..&state=..
 * HTTP/1.1" and headers: the decoded code, state and error of its query
 * (NULL when absent).  -1 when the request line is malformed. */
struct oauth2_redirect {
	char *code;
	char *state;
	char *error;
};
int oauth2_redirect_parse(const char *req, size_t n, struct oauth2_redirect *r);
void oauth2_redirect_free(struct oauth2_redirect *r);

/* Explains an XOAUTH2/OAUTHBEARER error challenge (RFC 7628 3.2.2: JSON
 * with status, scope, schemes; base64-decoded already) in one line
 * appended to out.  -1 when it is not such a report. */
int oauth2_explain_challenge(const char *json, size_t n, struct buf *out);

/* ---- oauth2_http.c: libcurl ---- */

/* POSTs form (name, value, name, value... URL-encoded here) to url over
 * HTTPS, verified against trust_file (NULL: the system's CAs), within
 * timeout_ms; the body (at most 64 KiB) in *body and the HTTP status in
 * *status.  ST_CONNECT when the server cannot be reached or does not
 * answer; ST_CONFIG when its certificate is not trusted. */
int oauth2_http_post(const char *url, const char *trust_file, int timeout_ms,
		     const struct strlist *form, struct buf *body, long *status, struct error *e);

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
void oauth2_url_encode(struct buf *b, const char *s);

#endif
