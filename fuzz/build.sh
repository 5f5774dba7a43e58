#!/bin/sh
# build.sh - builds the libFuzzer targets for `make fuzz`.
#   build.sh TARGET...
# From the build directory, with these in the environment (the Makefile
# sets them): FUZZ_CC (clang), FUZZ_CPPFLAGS, FUZZ_CFLAGS (include the
# sanitizers), FUZZ_LIBS, srcdir, CORE_SOURCES (src/*.c of libcore,
# relative to srcdir).  Objects go to fuzz/obj/, binaries to fuzz/fuzz-TARGET.
# An object is rebuilt when its source, config.h or any header is newer.
set -eu

mkdir -p fuzz/obj
headers=$(ls "$srcdir"/src/*.h "$srcdir"/fuzz/*.h config.h)

# compile SOURCE OBJECT EXTRA_FLAGS
compile() {
	if [ -f "$2" ] && [ ! "$1" -nt "$2" ]; then
		stale=no
		for h in $headers; do
			if [ "$h" -nt "$2" ]; then
				stale=yes
				break
			fi
		done
		[ $stale = yes ] || return 0
	fi
	echo "  CC (fuzz) $2"
	# FUZZ_CPPFLAGS holds shell quoting (-DLOCALEDIR=\"...\"), as in a Makefile.
	eval "\$FUZZ_CC $FUZZ_CPPFLAGS \$FUZZ_CFLAGS \$3 -c \"\$1\" -o \"\$2\""
}

core=
for c in $CORE_SOURCES; do
	o=fuzz/obj/core-$(basename "$c" .c).o
	compile "$srcdir/$c" "$o" -fsanitize=fuzzer-no-link
	core="$core $o"
done
compile "$srcdir/fuzz/common.c" fuzz/obj/common.o -fsanitize=fuzzer-no-link
for t in "$@"; do
	compile "$srcdir/fuzz/$t.c" "fuzz/obj/$t.o" -fsanitize=fuzzer-no-link
	relink=no
	for o in "fuzz/obj/$t.o" fuzz/obj/common.o $core; do
		[ -f "fuzz/fuzz-$t" ] && [ ! "$o" -nt "fuzz/fuzz-$t" ] || relink=yes
	done
	[ $relink = yes ] || continue
	echo "  CCLD (fuzz) fuzz/fuzz-$t"
	# shellcheck disable=SC2086
	$FUZZ_CC $FUZZ_CFLAGS -fsanitize=fuzzer -o "fuzz/fuzz-$t" "fuzz/obj/$t.o" \
		fuzz/obj/common.o $core $FUZZ_LIBS
done
