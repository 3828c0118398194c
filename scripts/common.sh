# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source, don't run.

C3C_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
C3C_CACHE=${CLONE3_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clone3-compat}
export C3C_TOP C3C_CACHE

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# The Debian suite a matrix spec's kernel comes from, when it is not the
# host's own (bookworm): trixie for the +deb13 kernels (built in a trixie
# build root, scripts/buildroot).
c3c_suite_for_spec() {
	case "$1" in
	*-deb13 | *-deb13-*) echo trixie ;;
	esac
}

# Native kernels: Linux 7.1 and newer have the three flags themselves, so
# the bench boots them without the module (the oracle for the 7.1 UAPI).
# usage: c3c_native SPEC  (true for 7.1, 7.2, ...)
c3c_native() {
	case "$1" in
	7.[0-9] | 7.[0-9][0-9] | [8-9].[0-9]*) return 0 ;;
	esac
	return 1
}

# The Debian architecture of a spec's kernel: arm64 for the *-arm64 specs
# (Debian 12's arm64 kernels, booted under qemu-system-aarch64 TCG), else
# the host's amd64.
c3c_arch_for_spec() {
	case "$1" in
	*-arm64) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# The Kbuild ARCH and cross-compiler prefix of a Debian architecture (the
# host builds arm64 modules and tests with Debian's gcc-aarch64-linux-gnu).
c3c_kbuild_arch() {
	case "$1" in
	arm64) echo arm64 ;;
	*) echo x86 ;;
	esac
}
c3c_cross_prefix() {
	case "$1" in
	arm64) echo aarch64-linux-gnu- ;;
	esac
}

# The architecture of a fetched kernel (its spec file; amd64 before the
# arm64 specs existed). usage: c3c_arch_of_kver KVER
c3c_arch_of_kver() {
	c3c_arch_for_spec "$(cat "$C3C_CACHE/kernels/$1/spec" 2>/dev/null)"
}

# The private apt view of a spec (empty: the host's own sources): its
# suite's, "native" (sid and trixie-backports: the 7.x kernels and
# linux-source-7.x), or "bookworm-arm64" (the host's suite, arm64 lists).
c3c_apt_view() {
	local suite
	suite=$(c3c_suite_for_spec "$1")
	if [ "$(c3c_arch_for_spec "$1")" = arm64 ]; then
		echo "${suite:-bookworm}-arm64"
	elif [ -n "$suite" ]; then
		echo "$suite"
	elif c3c_native "$1"; then
		echo native
	fi
}

# The state dir of that view (empty: none).
c3c_apt_dir() {
	local view
	view=$(c3c_apt_view "$1")
	[ -z "$view" ] || echo "$C3C_CACHE/apt-$view"
}

# apt options for the kernel of a spec: nothing for the host's own suite,
# else a private view (own sources.list, lists and cache in the cache
# dir), leaving the system's sources untouched. Its lists are refreshed
# once a day (Debian drops superseded ABIs; sid moves daily).
c3c_apt_opts() {
	local view
	view=$(c3c_apt_view "$1")
	[ -n "$view" ] || return 0
	c3c_apt_view_opts "$view"
}

# The same for a view by name (trixie, native, bookworm-arm64).
c3c_apt_view_opts() {
	local view=$1 d
	d=$C3C_CACHE/apt-$view
	local suite=${view%-arm64} arch=
	[ "$suite" = "$view" ] || arch=arm64
	if [ ! -s "$d/sources.list" ]; then
		mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
		case "$view" in
		native)
			cat >"$d/sources.list.tmp" <<-SRC
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main
			SRC
			;;
		*)
			cat >"$d/sources.list.tmp" <<-SRC
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite-updates main
			deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $suite-security main
			SRC
			;;
		esac
		mv "$d/sources.list.tmp" "$d/sources.list"
	fi
	local opts="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache"
	# Another architecture's lists: only that one (apt-get download and
	# apt-cache read them; nothing is installed from this view).
	[ -z "$arch" ] || opts+=" -o APT::Architecture=$arch -o APT::Architectures=$arch"
	if [ -z "$(find "$d/lists/.updated" -mmin -1440 2>/dev/null)" ]; then
		(
			c3c_lock "apt-$view"
			[ -n "$(find "$d/lists/.updated" -mmin -1440 2>/dev/null)" ] && exit 0
			# (as root in /root, apt warns it downloads unsandboxed: noise)
			# shellcheck disable=SC2086 # a list of options
			{ apt-get $opts -qq update 2>&1 || true; } | { grep -v unsandboxed || true; } >&2
			# shellcheck disable=SC2086
			[ -n "$(apt-cache $opts pkgnames linux-image- 2>/dev/null | head -n1)" ] ||
				die "apt-get update of the private $view view failed"
			touch "$d/lists/.updated"
		) || return 1
	fi
	echo "$opts"
}

# Refresh a spec's private apt view if it is older than a day.
c3c_apt_update() {
	c3c_apt_opts "$1" >/dev/null
}

# Map a matrix spec to the image metapackage (in the spec's suite); a
# native spec (7.1, 7.2) maps to the prefix of the linux-binary-KVER
# packages, of which fetch-kernel takes the newest.
#   bookworm: 6.1 6.12 6.1-rt 6.12-rt 6.1-cloud 6.12-cloud
#   trixie:   6.12-deb13 6.12-deb13-rt
#   native:   7.1 7.2
#   bookworm arm64: 6.1-arm64 6.12-arm64
c3c_meta_for_spec() {
	case "$1" in
	6.1-arm64) echo linux-image-arm64 ;;
	6.12-arm64) echo linux-image-6.12-arm64 ;;
	6.1) echo linux-image-amd64 ;;
	6.1-rt) echo linux-image-rt-amd64 ;;
	6.1-cloud) echo linux-image-cloud-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	6.12-rt) echo linux-image-6.12-rt-amd64 ;;
	6.12-cloud) echo linux-image-6.12-cloud-amd64 ;;
	6.12-deb13) echo linux-image-amd64 ;;
	6.12-deb13-rt) echo linux-image-rt-amd64 ;;
	*) if c3c_native "$1"; then echo "linux-binary-$1."; else return 1; fi ;;
	esac
}

# The full-system install test (scripts/check-system) of a release boots
# its matrix kernel; its jobs in the matrix are the specs system-RELEASE.
# usage: c3c_system_kernel RELEASE  (prints the kernel spec)
c3c_system_kernel() {
	case "$1" in
	bookworm) echo 6.1 ;;
	trixie) echo 6.12-deb13 ;;
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
# headers' .kernelvariables); its flags (e.g. -fmin-function-alignment for
# gcc-14) may be unknown to older ones. Print the suite of the build root
# (scripts/buildroot) that has it, or nothing when the host has it.
c3c_buildroot_for() { # HDR
	local cc
	cc=$(sed -n 's/^CC *=.*\(gcc-[0-9][0-9]*\).*/\1/p' "$1/.kernelvariables" 2>/dev/null | head -n1)
	if [ -z "$cc" ] || command -v "$cc" >/dev/null; then
		return 0
	fi
	case "$cc" in
	gcc-14) echo trixie ;;
	*) die "the kernel in $1 wants $cc: not on this host, and no build root has it" ;;
	esac
}

# The host paths a build against a fetched kernel reads: its dir in the
# cache, and the one its flavour Makefile includes the common tree from
# (the path it was fetched under, when the cache dir is shared).
c3c_kernel_paths() { # KVER
	local dir=$C3C_CACHE/kernels/$1 inc
	echo "$dir"
	inc=$(sed -n 's#^include \(/.*\)/root/usr/src/.*#\1#p' "$(c3c_hdr "$1")/Makefile" | head -n1)
	[ -z "$inc" ] || [ "$inc" = "$dir" ] || echo "$inc"
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

# dkms.conf into DIR with its version put in (#MODULE_VERSION#, as dh_dkms
# -V does for the package). usage: c3c_copy_dkms_conf DIR
c3c_copy_dkms_conf() {
	sed "s/#MODULE_VERSION#/$(c3c_version)/g" "$C3C_TOP/dkms.conf" >"$1/dkms.conf"
}

# Remove Kbuild outputs from a copied source tree (a developer may have run
# an in-tree "make"; stale objects must not leak into other builds).
c3c_clean_kbuild() {
	find "$1" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \
		-o -name '.*.d' -o -name '*.a' \) -type f -delete
}
