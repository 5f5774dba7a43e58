/* secret_lookup.h - what the password sources share, private to
 * src/secret.c (the order, passwordeval, the prompt), src/keyring.c and
 * src/netrc.c: where a password was found, and why the keyring or the
 * netrc file could not say. */
#ifndef OUTBOX_SECRET_LOOKUP_H
#define OUTBOX_SECRET_LOOKUP_H

#include "lib.h"
#include "secret.h"

#include <stdbool.h>

/* How long a keyring lookup may take in all. */
#define KEYRING_LOOKUP_MS 5000

enum secret_origin {
	FROM_NONE,
	FROM_CONFIG,
	FROM_EVAL,
	FROM_KEYRING,         /* host, service=smtp, user */
	FROM_KEYRING_NETWORK, /* server, protocol=smtp, user */
	FROM_NETRC,
	FROM_PROMPT,
};

enum keyring_state {
	KR_NOT_ASKED,
	KR_FOUND,
	KR_NOT_FOUND,
	KR_LOCKED,
	KR_NO_BUS,
	KR_UNREACHABLE,
	KR_TIMEOUT,
	KR_NOT_UTF8,
};

enum netrc_kind {
	NETRC_LOGIN,   /* machine HOST login USER */
	NETRC_MACHINE, /* machine HOST, no login */
	NETRC_DEFAULT,
};

/* What a lookup found; lookup_free() in secret.c frees it. */
struct secret_lookup {
	enum secret_origin origin;
	char *password;
	enum keyring_state keyring;
	char *keyring_why; /* GLib's message for KR_UNREACHABLE */
	enum netrc_kind netrc_kind;
	char *netrc_path;
	char *netrc_why; /* why the netrc file was not used, or NULL */
};

/* Looks src's host and user up in the keyring (outbox's and msmtp's
 * attributes, then the GNOME network-password ones), within
 * KEYRING_LOOKUP_MS: sets lk's origin (and, with fetch, its password) when
 * an unlocked item is found, and lk's keyring state and reason. */
void keyring_lookup(const struct secret_source *src, bool fetch, struct secret_lookup *lk);

/* Appends to b the one-line reason for a keyring state, naming the
 * attributes looked up. */
void keyring_explain(struct buf *b, enum keyring_state state, const char *why, unsigned timeout_s,
		     const char *host, const char *user);

/* Looks src's host and user up in the netrc file (src->netrc, else
 * ~/.netrc): sets lk's origin, netrc_kind (and, with fetch, its password)
 * when an entry matches and the file is private, and lk's netrc_path, and
 * netrc_why when the file could not be used. */
void netrc_lookup(const struct secret_source *src, bool fetch, struct secret_lookup *lk);

#endif
