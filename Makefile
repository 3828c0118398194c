# clone3-compat: top-level entry points.
#
#   make / make module   build module/clone3_compat.ko for KDIR (default: the
#                        headers of KVER, the running kernel)
#   make install-module  install the module for KVER (updates/dkms, depmod)
#   make install         install everything for this machine: install-module,
#                        then the library, headers, clone3-run and man pages
#                        under PREFIX (install-lib, install-tools, install-man)
#   make tests           build the test programs on the host into build/tests/
#   make check           the test suite: host checks + the module and tests in
#                        VMs on the kernel matrix (scripts/check)
#   make check-system    only the full-system install test: a Debian system
#                        per release booted with systemd installs, upgrades
#                        and purges the packages (scripts/check-system)
#   make stress          reliability run: stress, fuzz, load/unload
#                        cycles for STRESS_SECS (300) per run, FUZZ_CALLS
#                        (100000), CYCLES (50) on KERNELS (scripts/stress)
#   make check-debug     the VM suite on a KASAN/lockdep/kmemleak 6.12 kernel
#                        built once from linux-source-6.12 (scripts/check-debug)
#   make bench           the benchmarks of docs/benchmarks.md: a table per
#                        kernel of KERNELS (default 6.1 6.12; scripts/bench)
#   make demo            boot a Debian 6.12 kernel in a VM with the module
#   make clean

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
DESTDIR ?=
# make check KERNELS="6.1 6.12-rt" overrides tests/kernels.txt
KERNELS ?=

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Debian's headers have no System.map, so Kbuild skips depmod: run it here
# (not for a DESTDIR staging install). The UAPI header comes with
# install-lib.
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates/dkms \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	$(if $(DESTDIR),,depmod -a $(KVER))

tests:
	scripts/build-tests build/tests

check:
	scripts/check $(KERNELS)

# The matrix's system-* jobs alone (their table rows and verdict).
check-system:
	scripts/check system-bookworm system-trixie

# Reliability runs (see scripts/stress, scripts/check-debug).
stress:
	scripts/stress $(KERNELS)

check-debug:
	scripts/check-debug

# What the module costs, measured in one VM boot per kernel under
# QEMU -icount (scripts/bench, docs/benchmarks.md); not part of make check.
bench:
	scripts/bench $(KERNELS)

demo:
	scripts/demo

# Kbuild's clean needs the headers; without them remove its outputs by hand.
clean:
	if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -f Module.symvers modules.order .*.cmd
	cd module && rm -f *.o .*.o *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order
	rm -rf build

.PHONY: all module install-module tests check check-system stress check-debug bench demo clean

# ---------------------------------------------------------------- userspace
# libclone3compat (shared + static + pkg-config), clone3-run, the man pages
# and the Debian packages. Outputs go to build/; CFLAGS, CPPFLAGS and
# LDFLAGS from the environment (dpkg-buildflags) are added to ours.
#
#   make lib tools man   build/lib/, build/tools/clone3-run, build/man/
#   make install-lib install-tools install-man   (DESTDIR, PREFIX, LIBDIR)
#   make deb             the .debs, in build/deb/ (scripts/check-deb tests them)
#
# The version is written only in VERSION: scripts/versioned puts it into
# the library header (lib/clone3_compat.h.in -> build/include/), the man
# pages and the pkg-config file.
VERSION := $(shell cat VERSION)
LIB_SONAME := libclone3compat.so.0
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
C3C_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	-Ibuild/include -Ilib -Iinclude/uapi
LIB_H := build/include/clone3_compat.h

LIB_OBJS := $(patsubst lib/%.c,build/lib/%.o,$(wildcard lib/*.c))
LIB_SO := build/lib/libclone3compat.so.$(VERSION)
LIB_A := build/lib/libclone3compat.a

lib: $(LIB_SO) $(LIB_A)

$(LIB_H): lib/clone3_compat.h.in VERSION
	scripts/versioned $< $@

# One set of PIC objects serves both libraries (PIE programs link the .a).
build/lib/%.o: lib/%.c $(wildcard lib/*.h) $(LIB_H) include/uapi/linux/clone3_compat.h
	@mkdir -p $(@D)
	$(CC) $(C3C_CFLAGS) -fPIC $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB_SO): $(LIB_OBJS) lib/libclone3compat.map
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=lib/libclone3compat.map -Wl,--no-undefined \
		$(CFLAGS) $(LDFLAGS) -o $@ $(LIB_OBJS) -lpthread
	ln -sf $(notdir $@) build/lib/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) build/lib/libclone3compat.so

$(LIB_A): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

tools: build/tools/clone3-run

build/tools/clone3-run: tools/clone3-run.c $(LIB_H) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(C3C_CFLAGS) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) \
		-Lbuild/lib -lclone3compat

# The .pc gets the paths of this install. ldconfig only for a live
# install, where the new soname may be needed at once.
install-lib: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/linux
	install -m 0644 $(LIB_SO) $(LIB_A) $(DESTDIR)$(LIBDIR)/
	ln -sf libclone3compat.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libclone3compat.so
	scripts/versioned lib/libclone3compat.pc.in build/lib/libclone3compat.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' build/lib/libclone3compat.pc.in \
		>$(DESTDIR)$(PKGCONFIGDIR)/libclone3compat.pc
	install -m 0644 $(LIB_H) $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 include/uapi/linux/clone3_compat.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/
	$(if $(DESTDIR),,ldconfig || true)

install-tools: tools
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 build/tools/clone3-run $(DESTDIR)$(BINDIR)/

# build/man/manN/: the pages with the version put in, and a symlink for
# every other name in a page's NAME section (the functions it documents).
man:
	scripts/build-man build/man

install-man: man
	install -d $(DESTDIR)$(MANDIR)
	cp -R --preserve=mode,links build/man/man1 build/man/man3 \
		build/man/man4 $(DESTDIR)$(MANDIR)/

install: install-module install-lib install-tools install-man

# dpkg-buildpackage in a copy of the tree: its outputs land in build/deb/,
# not next to the repository.
deb:
	rm -rf build/deb
	mkdir -p build/deb/src
	tar -c --exclude=./build --exclude=./.git . | tar -x -C build/deb/src
	cd build/deb/src && dpkg-buildpackage -us -uc -b
	rm -rf build/deb/src

.PHONY: lib tools man install install-lib install-tools install-man deb
