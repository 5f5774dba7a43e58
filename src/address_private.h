/* address_private.h - what address.c (header address lists) and
 * address_envelope.c (envelope addresses) share; no other module uses it. */
#ifndef OUTBOX_ADDRESS_PRIVATE_H
#define OUTBOX_ADDRESS_PRIVATE_H

#include "address.h"

/* Enough of a bad address to recognise it in an error message. */
#define ADDRESS_PRINTABLE_MAX 200

/* Writes s[0..n) into out (outsz bytes, NUL-terminated) with control
 * characters escaped (\r, \n, \t, \xHH), cut at ADDRESS_PRINTABLE_MAX
 * input bytes with "..." after it. */
void address_printable(const char *s, size_t n, char *out, size_t outsz);

/* RFC 5322 3.2.3 dot-atom-text, s[0..n). */
bool address_is_dot_atom(const char *s, size_t n);

/* The '@' that starts the domain: the last one outside quotes, or NULL. */
const char *address_domain_at(const char *addr);

/* An ASCII control character (C0 or DEL). */
static inline bool
address_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

#endif
