#!/bin/sh
# The guest side of scripts/bench (busybox sh, run as root by vm-run with
# --no-module; cwd /test/files holds bench, clone3_compat.ko and this).
#
# usage: guest.sh [SCALE [ROUNDS [P1ROUNDS]]]
#
# One boot measures everything: a warm-up (W0 without the module, W1 with
# it; discarded), then ROUNDS (default 4) rounds of A B, where A runs
# without the module and B with it: the module is loaded before and
# unloaded after each B. The costly P5 herds run in rounds 1 and 2 only,
# the memory census in round 2. P1ROUNDS (default 16) more rounds measure
# only P1, whose targets (1 %) are closest to the round-to-round noise.
# Output: bench's RESULT/SKIP/MEM/SLAB/BLOCKS lines, plus INFO and PHASE
# lines, for scripts/bench to tabulate.
scale=${1:-1}
rounds=${2:-4}
p1rounds=${3:-16}
cd /test/files || exit 1
KO=$PWD/clone3_compat.ko
export PATH="/test/files:$PATH"

# P1
P1="fork vfork clone3"
# Every round, with and without the module (P1, P2, the P3/P4/P6 bases).
COMMON="$P1 pidfd_clone3 pdeathsig
	file pipe unix inet ioctl_pipe ioctl_tty ioctl_file kill_sigkill"
# Every round, with the module only.
MODULE="spawn_ioctl spawn_ioctl_fd spawn_clone3 spawn_reap guard_clone3
	guard_ioctl guard_ioctl_fd kill_autokill kill_autokill_sigkill"
# P5: spawns with 10 and 10 000 live children (the costly part); P7: with
# 100 000 tracked live children or 100 000 exited ones whose pidfds are
# held, and 10 000 simultaneous exits with pidfds held.
HERD_A="bgp10 bgp10000 exits10000"
HERD_B="bg10 bg10000 bgu10000 bg100000 bgu100000 held10 held100000 exits10000"

load() {
	if ! out=$(vmutil insmod "$KO" 2>&1); then
		echo "BENCH-ERROR insmod: $out"
		exit 1
	fi
}

# The module's state drains asynchronously (a work item, RCU): retry a while.
unload() {
	tries=0
	until out=$(vmutil rmmod clone3_compat 2>&1); do
		tries=$((tries + 1))
		if [ $tries -ge 100 ]; then
			echo "BENCH-ERROR rmmod: $out"
			exit 1
		fi
		sleep 0.1
	done
}

phase() { # NAME LOADED SCALE TESTS...
	name=$1 loaded=$2 s=$3
	shift 3
	[ "$loaded" = 1 ] && load
	echo "PHASE $name loaded=$loaded uptime=$(cut -d' ' -f1 /proc/uptime)"
	bench -v -p "$name" -s "$s" "$@" || echo "BENCH-ERROR bench exited $? in $name"
	[ "$loaded" = 1 ] && unload
	:
}

echo "INFO kernel $(uname -r)"
echo "INFO scale $scale"
echo "INFO rounds $rounds+$p1rounds"
echo "INFO cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "INFO clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "INFO mem_kb $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
# Room for 100 000 more processes (root passes RLIMIT_NPROC anyway).
echo 200000 >/proc/sys/kernel/threads-max
echo 4194304 >/proc/sys/kernel/pid_max
# Fixed addresses: fewer ways for two runs to differ (bench also fixes its
# stack offset within the page itself).
echo 0 >/proc/sys/kernel/randomize_va_space

# shellcheck disable=SC2086 # the test lists are meant to split
{
	phase W0 0 "$scale" $COMMON
	phase W1 1 "$scale" $COMMON $MODULE
	r=1
	while [ $r -le "$rounds" ]; do
		herd_a='' herd_b='' mem_a='' mem_b=''
		if [ $r -le 2 ]; then
			herd_a=$HERD_A herd_b=$HERD_B
		fi
		if [ $r = 2 ]; then
			mem_a=mem_plain mem_b="mem_autoreap mem_autokill"
		fi
		phase A$r 0 "$scale" $COMMON $herd_a $mem_a
		phase B$r 1 "$scale" $COMMON $MODULE $herd_b $mem_b
		r=$((r + 1))
	done
	while [ $r -le $((rounds + p1rounds)) ]; do
		phase A$r 0 "$scale" $P1
		phase B$r 1 "$scale" $P1
		r=$((r + 1))
	done
}
echo "BENCH-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
