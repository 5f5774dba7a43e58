/* netrc.h - the netrc file syntax of GNU inetutils and curl: finding the
 * entry for a host and a user.  A pure function of the file's text, so
 * that tests and fuzzers can feed it anything. */
#ifndef OUTBOX_NETRC_H
#define OUTBOX_NETRC_H

#include <stdbool.h>
#include <stddef.h>

/* An entry, pointing into the text it was found in. */
struct netrc_entry {
	const char *machine; /* NULL for `default` */
	const char *login;   /* NULL when the entry names none */
	const char *password;
	bool started; /* a machine or default keyword was seen */
};

/* Finds the entry for host (case-insensitively) and user in text (len
 * bytes, not necessarily NUL-terminated; tokens are cut out of it in
 * place, so it is changed): the first matching machine entry, else a
 * matching `default` entry.  An entry matches when it has a password and
 * names no login or user's.  False when none does. */
bool netrc_find(char *text, size_t len, const char *host, const char *user,
		struct netrc_entry *found);

#endif
