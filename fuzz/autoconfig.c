/* autoconfig.c - fuzz target: what --configure reads from outside
 * (src/autoconfig.h).
 *
 * The first byte picks the parser, the rest is its input: 0 an autoconfig
 * config-v1.1.xml file (autoconfig_parse_xml, expat), 1 a DNS answer of
 * SRV records (autoconfig_parse_srv), 2 a DNS answer of MX records
 * (autoconfig_parse_mx). */
#include "config.h"

#include "fuzz.h"

#include "autoconfig.h"
#include "lib.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct autoconfig ac;
	char host[AUTOCONFIG_HOST_MAX];
	struct error e;

	if (size == 0)
		return 0;
	memset(&ac, 0, sizeof ac);
	switch (data[0] % 3) {
	case 0:
		autoconfig_parse_xml((const char *)data + 1, size - 1, "alice@example.org", &ac,
				     &e);
		break;
	case 1:
		autoconfig_parse_srv(data + 1, size - 1, AUTOCONFIG_STARTTLS, &ac);
		autoconfig_sort(&ac);
		break;
	default:
		autoconfig_parse_mx(data + 1, size - 1, host, sizeof host);
		break;
	}
	return 0;
}
