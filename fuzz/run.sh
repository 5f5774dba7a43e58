#!/bin/sh
# run.sh - fuzzes one target for a while, resuming where the last run
# stopped, or minimises its saved corpus.  Run from the build directory
# after `make fuzz`:
#   sh ../fuzz/run.sh TARGET SECONDS   fuzz (nice, one process)
#   sh ../fuzz/run.sh -merge TARGET    minimise into fuzz/corpus/TARGET
#                                      (the named seeds are kept)
# The working corpus grows in fuzz/work/TARGET/corpus (FUZZ_WORK overrides
# fuzz/work); the seeds in the source tree and the saved crashers are read
# too.  Crashes land in fuzz/work/TARGET/artifacts.  Each run appends
# "date target seconds executions cov" to fuzz/work/runs.log, from
# libFuzzer's final statistics.  The targets' files (queue, netrc, aliases)
# go to /dev/shm when it exists (FUZZ_TMPDIR overrides): the queue target
# fsyncs, which on a disk makes it twenty times slower.
set -eu

if [ -n "${FUZZ_TMPDIR:-}" ]; then
	TMPDIR=$FUZZ_TMPDIR
elif [ -d /dev/shm ] && [ -w /dev/shm ]; then
	TMPDIR=/dev/shm
fi
export TMPDIR

top=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-fuzz/work}

if [ "${1:-}" = -merge ]; then
	t=$2
	fresh=$work/$t/merged.$$
	rm -rf "$fresh"
	mkdir -p "$fresh"
	# The named seeds (real inputs, the hostile ones) stay whatever they
	# add; libFuzzer's own finds are named by their SHA-1.  Set-cover
	# merging keeps the fewest files that give the same features.
	for f in "$top/fuzz/corpus/$t"/*; do
		echo "${f##*/}" | grep -Eqx '[0-9a-f]{40}' || cp "$f" "$fresh/"
	done
	nice -n 19 "fuzz/fuzz-$t" -set_cover_merge=1 -rss_limit_mb=2048 "$fresh" \
		"$top/fuzz/corpus/$t" "$work/$t/corpus"
	rm -rf "$top/fuzz/corpus/$t"
	mv "$fresh" "$top/fuzz/corpus/$t"
	echo "run.sh: fuzz/corpus/$t: $(ls "$top/fuzz/corpus/$t" | wc -l) files"
	exit 0
fi

t=$1
secs=$2
mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
set -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
	-print_final_stats=1 -artifact_prefix="$work/$t/artifacts/"
[ -f "$top/fuzz/$t.dict" ] && set -- "$@" -dict="$top/fuzz/$t.dict"
set -- "$@" "$work/$t/corpus" "$top/fuzz/corpus/$t"
[ -d "$top/fuzz/crashers/$t" ] && set -- "$@" "$top/fuzz/crashers/$t"
status=0
# A log of this run's own, so that two runs of one target at once do not
# mix their statistics; the last one to end becomes last.log.
log=$work/$t/run.$$.log
nice -n 19 "fuzz/fuzz-$t" "$@" >"$log" 2>&1 || status=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
mv "$log" "$work/$t/last.log"
echo "$(date -u +%FT%TZ) $t $secs ${execs:-?} ${cov:-?} exit=$status" >>"$work/runs.log"
tail -1 "$work/runs.log"
exit $status
