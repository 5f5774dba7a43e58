/* address.c - fuzz target: address lists, envelope addresses and IDN
 * (src/address.h).
 *
 * The input is used twice, as outbox meets addresses:
 * - as the value of a To:/Cc:/Bcc: field (address_list_parse, for -t);
 * - up to its first NUL, as a command-line argument: a -f sender
 *   (address_normalize_sender) and a recipient.
 * Every address found then goes the way submit.c's envelope goes: a
 * local name is qualified with the sender's domain, then address_check,
 * address_to_wire (IDN to A-labels via libidn2) and
 * address_check_mailbox. */
#include "config.h"

#include "fuzz.h"

#include "address.h"
#include "lib.h"

#include <stdlib.h>
#include <string.h>

static void
to_wire(const char *addr)
{
	struct error e;
	bool utf8 = false;
	char *q = strchr(addr, '@') == NULL ? address_qualify(addr, "example.org") : xstrdup(addr);
	char *w;

	if (address_check(q, &e) == 0 && (w = address_to_wire(q, &utf8, &e)) != NULL) {
		address_check_mailbox(w, &e);
		address_is_ascii(w);
		free(w);
	}
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist list;
	struct error e;
	char *arg = xstrndup((const char *)data, size), *sender;

	strlist_init(&list);
	if (address_list_parse((const char *)data, size, &list, &e) == 0)
		for (size_t i = 0; i < list.n; i++)
			to_wire(list.v[i]);
	strlist_free(&list);
	if (address_normalize_sender(arg, &sender, &e) == 0) {
		if (*sender != '\0')
			to_wire(sender);
		free(sender);
	}
	if (*arg != '\0')
		to_wire(arg);
	free(arg);
	return 0;
}
