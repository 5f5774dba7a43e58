#!/bin/sh
# check.sh - the whole test suite from a clean tree: installs what is
# missing, builds with warnings as errors and runs `make check`.
#   sh tests/check.sh                 build in _build
#   sh tests/check.sh --sanitizers    build in _build-san with
#                                     -fsanitize=address,undefined
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tests/deps.sh
[ -x configure ] || autoreconf -fi

jobs=$(nproc 2>/dev/null || echo 2)
case "${1:-}" in
--sanitizers)
	build=_build-san
	flags="--enable-werror --enable-sanitizers --enable-sendmail-links"
	;;
"")
	build=_build
	flags="--enable-werror"
	;;
*)
	echo "usage: sh tests/check.sh [--sanitizers]" >&2
	exit 64
	;;
esac
mkdir -p "$build"
cd "$build"
# shellcheck disable=SC2086
[ -f Makefile ] || ../configure $flags >/dev/null
make -j"$jobs" >/dev/null
make -j"$jobs" check
