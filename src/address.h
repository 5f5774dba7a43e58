/* address.h - RFC 5322 address lists, RFC 5321 envelope paths, IDN.
 *
 * Pure functions over strings: no I/O, no configuration.  Addresses come
 * out as addr-specs ("local@domain", or just "local" when the input had no
 * domain: the caller qualifies those with address_qualify()).  A local part
 * is quoted only when it is not a dot-atom (RFC 5322 3.4.1), so
 * "\"john\"@x" becomes "john@x" and "\"john doe\"@x" stays quoted.
 * libidn2 is used here and nowhere else. */
#ifndef OUTBOX_ADDRESS_H
#define OUTBOX_ADDRESS_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1: a path is at most 256 octets, but real mail is
 * longer; 998 (the line limit) is where it stops being an address. */
#define ADDRESS_MAX 998
/* At most this many addresses in one list (counting what it already holds). */
#define ADDRESS_LIST_MAX 10000

/* Parses the value of an address header (To, Cc, Bcc, From, Resent-To...):
 * s[0..len) may hold folding line breaks, nested comments, quoted strings,
 * display names, angle addresses, groups ("undisclosed-recipients:;") and
 * obsolete routes ("<@a,@b:user@host>").  Appends one addr-spec per mailbox
 * to out.  An empty value or an empty group adds nothing; "<>" is skipped.
 * Returns 0, or -1 with an ST_DATAERR error naming the offending address;
 * on error out is left as it was. */
int address_list_parse(const char *s, size_t len, struct strlist *out, struct error *e);

/* Checks an envelope address (an argument, or one about to be sent): no
 * CR, LF or other control characters, no spaces outside quotes, balanced
 * quotes, angle brackets only as one enclosing pair, at most ADDRESS_MAX
 * octets.  "" (the null sender) is accepted: the caller rejects an empty
 * recipient.  Returns 0, or -1 with ST_DATAERR naming the address with its
 * control characters escaped.  (A NUL cannot be seen in a C string: buffer
 * parsers such as address_list_parse() reject NUL themselves.) */
int address_check(const char *addr, struct error *e);

/* Turns a -f/-r argument into an envelope sender, or a recipient argument
 * into a recipient: surrounding blanks and one pair of angle brackets are
 * removed, then address_check() applies.  "", "<>" give "" (the null
 * sender; the caller refuses it as a recipient).  *out is newly allocated. */
int address_normalize_sender(const char *arg, char **out, struct error *e);

/* The form of addr to put into MAIL FROM / RCPT TO.  An ASCII address is
 * returned as is.  A non-ASCII domain becomes A-labels (UTS #46
 * nontransitional, then transitional).  A non-ASCII local part sets
 * *needs_smtputf8 (never cleared, so a caller can accumulate over the
 * envelope) and the address is returned as given (RFC 6531).  Domain
 * literals pass through.  Invalid UTF-8 or a domain IDNA refuses gives
 * NULL with ST_DATAERR naming the address.  The result is newly allocated. */
char *address_to_wire(const char *addr, bool *needs_smtputf8, struct error *e);

/* A host name as it goes on the wire (in a SOCKS5 request): an ASCII name
 * as it is, a Unicode one as A-labels (UTS #46 like address_to_wire()).
 * NULL with ST_CONFIG naming the host when it is not valid UTF-8 or IDNA
 * refuses it.  The result is newly allocated. */
char *address_host_to_ascii(const char *host, struct error *e);

/* Checks that addr, an address in the form address_to_wire() returns, is
 * an RFC 5321 4.1.2 Mailbox: a Local-part (Dot-string or Quoted-string,
 * UTF-8 allowed as RFC 6531 says), '@', then a domain of dot-separated
 * letter-digit-hyphen labels of 1 to 63 octets, at most 255 octets, whose
 * "xn--" labels are valid IDNA (U-labels are checked as their A-labels),
 * or an address literal [IPv4] or [IPv6:...].  Returns 0, or -1 with
 * ST_DATAERR naming the address and what is wrong. */
int address_check_mailbox(const char *addr, struct error *e);

/* True if every byte of s is below 0x80. */
bool address_is_ascii(const char *s);

/* addr with "@domain" appended when it has no domain; "" stays "" (the
 * null sender), and a NULL or empty domain leaves addr unchanged.  Newly
 * allocated. */
char *address_qualify(const char *addr, const char *domain);

#endif
