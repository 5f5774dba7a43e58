/* http.h - an HTTPS GET for the autoconfig lookup of --configure.  The
 * implementation shares oauth2_http.c's libcurl, loaded on first use. */
#ifndef OUTBOX_HTTP_H
#define OUTBOX_HTTP_H

#include "lib.h"
#include "status.h"

/* GETs url over HTTPS only (redirects followed, at most 3, HTTPS only),
 * verified against trust_file (NULL: the system's CAs), within
 * timeout_ms: the body (at most 64 KiB) in *body, the HTTP status in
 * *status.  ST_CONNECT when the server cannot be reached or does not
 * answer; ST_CONFIG when its certificate is not trusted. */
int http_get(const char *url, const char *trust_file, int timeout_ms, struct buf *body,
	     long *status, struct error *e);

#endif
