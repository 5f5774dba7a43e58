/* oauth2_private.h - what oauth2.c (tokens, refresh) shares with
 * oauth2_authorize.c (--authorize); private to them. */
#ifndef OUTBOX_OAUTH2_PRIVATE_H
#define OUTBOX_OAUTH2_PRIVATE_H

#include "oauth2.h"

/* Writes the tokens into the account's keyring item. */
int oauth2_tokens_save(const struct oauth2_client *c, const struct oauth2_tokens *t,
		       struct error *e);

/* Takes an endpoint's new tokens from r into t (a refresh token that
 * does not rotate stays). */
void oauth2_tokens_update(struct oauth2_tokens *t, struct oauth2_reply *r);

/* POSTs form to url with the client's credentials and reads the JSON
 * reply into r; -1 only when there is no usable reply (an error reply is
 * a reply with r->error set). */
int oauth2_endpoint_post(const struct oauth2_client *c, const char *url, struct strlist *form,
			 struct oauth2_reply *r, struct error *e);

#endif
