# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source, don't run.

C3C_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
C3C_CACHE=${CLONE3_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clone3-compat}
export C3C_TOP C3C_CACHE

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# apt options for a private view of Debian bullseye (5.10), leaving the
# system's sources untouched.
c3c_apt_opts() {
	case "$1" in
	5.10*)
		local d=$C3C_CACHE/apt-bullseye
		if [ ! -s "$d/sources.list" ]; then
			mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
			cat >"$d/sources.list" <<-SRC
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
			SRC
		fi
		echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache"
		;;
	esac
}

# Map a matrix spec (6.1, 6.12, 6.1-rt, 6.12-rt, 5.10) to the image metapackage.
c3c_meta_for_spec() {
	case "$1" in
	6.1) echo linux-image-amd64 ;;
	6.1-rt) echo linux-image-rt-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	6.12-rt) echo linux-image-6.12-rt-amd64 ;;
	5.10) echo linux-image-amd64 ;;
	*) return 1 ;;
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

# The module's sources, as dkms and the VM bench build them: the top-level
# Kbuild (make -C KDIR M=DIR from the top), the version, module/ and the
# UAPI header. usage: c3c_copy_module_sources DEST
c3c_copy_module_sources() {
	cp -a "$C3C_TOP/Kbuild" "$C3C_TOP/VERSION" "$C3C_TOP/module" "$C3C_TOP/include" "$1/"
}

# Remove Kbuild outputs from a copied source tree (a developer may have run
# an in-tree "make"; stale objects must not leak into other builds).
c3c_clean_kbuild() {
	find "$1" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \
		-o -name '.*.d' -o -name '*.a' \) -type f -delete
}
