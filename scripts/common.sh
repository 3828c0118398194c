# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source, don't run.

C3C_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
C3C_CACHE=${CLONE3_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clone3-compat}
export C3C_TOP C3C_CACHE

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# Native kernels: Linux 7.1 and newer have the three flags themselves, so
# the bench boots them without the module (the oracle for the 7.1 UAPI).
# usage: c3c_native SPEC  (true for 7.1, 7.2, ...)
c3c_native() {
	case "$1" in
	7.[0-9] | 7.[0-9][0-9] | [8-9].[0-9]*) return 0 ;;
	esac
	return 1
}

# The private apt state dir of a spec (empty: the host's own view).
c3c_apt_dir() {
	case "$1" in
	5.10*) echo "$C3C_CACHE/apt-bullseye" ;;
	*) if c3c_native "$1"; then echo "$C3C_CACHE/apt-native"; fi ;;
	esac
}

# apt options for a private view of Debian bullseye (5.10), or of sid and
# trixie-backports (native 7.x kernels, linux-source-7.x), leaving the
# system's sources untouched.
c3c_apt_opts() {
	local d
	d=$(c3c_apt_dir "$1")
	[ -n "$d" ] || return 0
	if [ ! -s "$d/sources.list" ]; then
		mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
		case "$1" in
		5.10*)
			cat >"$d/sources.list" <<-SRC
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
			SRC
			;;
		*)
			cat >"$d/sources.list" <<-SRC
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main
			SRC
			;;
		esac
	fi
	echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache"
}

# Update a private apt view when its lists are missing or older than a day
# (sid moves daily; "newest 7.2" is resolved from these lists).
# usage: c3c_apt_update SPEC
c3c_apt_update() {
	local d opts
	d=$(c3c_apt_dir "$1")
	[ -n "$d" ] || return 0
	opts=$(c3c_apt_opts "$1")
	c3c_lock "apt-$(basename "$d")"
	if [ -z "$(find "$d/lists/.updated" -mmin -1440 2>/dev/null)" ]; then
		# (as root in /root, apt warns it downloads unsandboxed: noise)
		# shellcheck disable=SC2086
		{ apt-get $opts -qq update 2>&1 || true; } | { grep -v unsandboxed || true; } >&2
		# shellcheck disable=SC2086
		[ -n "$(apt-cache $opts pkgnames linux-image- 2>/dev/null | head -n1)" ] || return 1
		touch "$d/lists/.updated"
	fi
}

# Map a matrix spec (6.1, 6.12, 6.1-rt, 6.12-rt, 5.10) to the image
# metapackage; a native spec (7.1, 7.2) maps to the prefix of the
# linux-binary-KVER packages, of which fetch-kernel takes the newest.
c3c_meta_for_spec() {
	case "$1" in
	6.1) echo linux-image-amd64 ;;
	6.1-rt) echo linux-image-rt-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	6.12-rt) echo linux-image-6.12-rt-amd64 ;;
	5.10) echo linux-image-amd64 ;;
	*) if c3c_native "$1"; then echo "linux-binary-$1."; else return 1; fi ;;
	esac
}

# Serialise a critical section between concurrent runs (2 kernels build in
# parallel, and two checkouts may share the cache). Held until the process
# exits. usage: c3c_lock NAME
c3c_lock() {
	local fd
	mkdir -p "$C3C_CACHE/locks"
	exec {fd}>"$C3C_CACHE/locks/$1.lock"
	flock "$fd"
}

# The headers tree of a fetched kernel.
c3c_hdr() {
	echo "$C3C_CACHE/kernels/$1/root/usr/src/linux-headers-$1"
}

# Debian pins the compiler a kernel was built with (CC = gcc-N in the
# headers' .kernelvariables). Print "CC=gcc-12" when that gcc-N is not
# installed (e.g. gcc-10 for bullseye 5.10 on a bookworm host), else nothing.
c3c_cc_override() {
	local hdr=$1 cc
	cc=$(sed -n 's/^CC *=.*\(gcc-[0-9][0-9]*\).*/\1/p' "$hdr/.kernelvariables" 2>/dev/null | head -n1)
	if [ -n "$cc" ] && ! command -v "$cc" >/dev/null; then
		command -v gcc-12 >/dev/null || die "kernel wants $cc, and neither it nor gcc-12 is installed"
		echo "CC=gcc-12"
	fi
}

# The project version (single source: the top-level VERSION file).
c3c_version() {
	tr -d ' \n' <"$C3C_TOP/VERSION"
}

# Remove Kbuild outputs from a copied source tree (a developer may have run
# an in-tree "make"; stale objects must not leak into other builds).
c3c_clean_kbuild() {
	find "$1" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \
		-o -name '.*.d' -o -name '*.a' \) -type f -delete
}
