#!/bin/sh
# check.sh - the whole test suite from a clean tree: installs what is
# missing, builds with warnings as errors and runs `make check`.
#   sh tests/check.sh                 build in the source tree
#   sh tests/check.sh --sanitizers    a separate build in _build-san with
#                                     -fsanitize=address,undefined
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tests/deps.sh
[ -x configure ] || autoreconf -fi

jobs=$(nproc 2>/dev/null || echo 2)
case "${1:-}" in
--sanitizers)
	mkdir -p _build-san
	cd _build-san
	[ -f Makefile ] || ../configure --enable-werror --enable-sanitizers >/dev/null
	;;
"")
	[ -f Makefile ] || ./configure --enable-werror >/dev/null
	;;
*)
	echo "usage: sh tests/check.sh [--sanitizers]" >&2
	exit 64
	;;
esac
make -j"$jobs" >/dev/null
make -j"$jobs" check
