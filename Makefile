# SPDX-License-Identifier: ISC
# Builds sock, and runs its tests, sanitizer and valgrind passes, bench,
# fuzzers and lints; installs it with its man page and completions.
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX and DESTDIR are the user's; the
# project's own flags are added from SOCK_* so that `make CFLAGS=-O0` keeps
# the warnings and the feature macros.

PREFIX	?= /usr/local
BINDIR	 = $(PREFIX)/bin
MANDIR	 = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
CC	?= cc
# The version, from one place: the file VERSION (--version, make dist,
# make deb).
VERSION	!= cat VERSION
CFLAGS	?= -O2 -g
# TLS=no builds sock without OpenSSL (--tls is then a usage error). After
# switching, run make clean: the objects do not know which way they were
# built.
TLS	?= yes

# PORTABLE=1 builds every portable fallback instead of the Linux-only
# calls, as a BSD or macOS build takes them (opts.h, HAVE_LINUX_CALLS).
PORTABLE_CPPFLAGS_1 = -DSOCK_PORTABLE

# TLS=yes: OpenSSL 3, found by pkg-config when the commands run.
# TLS_LINK=dlopen (the default) opens libssl.so.3 only when --tls is used,
# so that every other invocation starts as fast and as small as TLS=no
# (tlsload.h); TLS_LINK=direct links -lssl -lcrypto, for the static build
# and for systems without dlopen. DL_LIBS: where dlopen is (empty where
# libc has it).
TLS_LINK ?= dlopen
DL_LIBS	 ?= -ldl
TLS_FLAGS_yes = -DHAVE_TLS `pkg-config --cflags openssl` \
		$(TLS_LINK_FLAGS_$(TLS_LINK))
TLS_LIBS_yes  = $(TLS_LINK_LIBS_$(TLS_LINK))
TLS_FLAGS_no  =
TLS_LIBS_no   =
TLS_LINK_FLAGS_dlopen = -DTLS_DLOPEN
TLS_LINK_LIBS_dlopen  = $(DL_LIBS)
TLS_LINK_FLAGS_direct =
TLS_LINK_LIBS_direct  = `pkg-config --libs openssl`

SOCK_CPPFLAGS = -D_GNU_SOURCE -DSOCK_VERSION='"$(VERSION)"' $(PORTABLE_CPPFLAGS_$(PORTABLE)) $(TLS_FLAGS_$(TLS))
SOCK_LIBS     = $(TLS_LIBS_$(TLS))
SOCK_CFLAGS   = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wpointer-arith -Wformat=2
SAN_FLAGS     = -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all

SRCS	= sock.c admit.c connect.c end.c exec.c forward.c hook.c loop.c \
	  proxy.c proxyd.c proxyhdr.c relay.c rules.c scan.c server.c \
	  socks5udp.c sources.c term.c tls.c tlsload.c udpassoc.c udpfwd.c \
	  util.c way.c
HDRS	= sock.h admit.h connect.h end.h exec.h forward.h hook.h loop.h \
	  net.h opts.h parse.h proxy.h proxyd.h proxyhdr.h relay.h \
	  rules.h scan.h server.h socks.h socks5udp.h sources.h term.h \
	  tls.h tlsload.h udpassoc.h udpfwd.h way.h
OBJS	= sock.o admit.o connect.o end.o exec.o forward.o hook.o loop.o \
	  proxy.o proxyd.o proxyhdr.o relay.o rules.o scan.o server.o \
	  socks5udp.o sources.o term.o tls.o tlsload.o udpassoc.o udpfwd.o \
	  util.o way.o

all: sock

sock: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS) $(SOCK_LIBS)

.c.o:
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) -c $<

# Each object's headers, as its #include lines name them (cc -MM).
admit.o: opts.h end.h loop.h net.h proxyhdr.h admit.h sources.h \
 way.h
connect.o: opts.h end.h net.h loop.h connect.h
end.o: opts.h end.h loop.h
exec.o: opts.h end.h net.h loop.h exec.h relay.h way.h rules.h \
 hook.h parse.h
forward.o: opts.h end.h loop.h net.h connect.h tls.h proxy.h \
 socks.h socks5udp.h proxyd.h proxyhdr.h admit.h forward.h sources.h \
 relay.h way.h rules.h hook.h parse.h udpassoc.h
hook.o: opts.h end.h net.h loop.h parse.h rules.h hook.h way.h
loop.o: opts.h loop.h
proxy.o: opts.h end.h net.h loop.h parse.h connect.h proxy.h \
 socks.h socks5udp.h
proxyd.o: opts.h parse.h proxy.h socks.h socks5udp.h proxyd.h
proxyhdr.o: proxyhdr.h
relay.o: opts.h end.h loop.h net.h parse.h relay.h way.h rules.h \
 hook.h
rules.o: opts.h end.h net.h loop.h parse.h rules.h
scan.o: opts.h loop.h net.h parse.h proxy.h socks.h socks5udp.h \
 scan.h
server.o: opts.h end.h loop.h net.h tls.h exec.h admit.h \
 server.h sources.h relay.h way.h rules.h hook.h parse.h
sock.o: sock.h opts.h end.h loop.h net.h parse.h connect.h tls.h \
 proxy.h socks.h socks5udp.h exec.h admit.h server.h proxyhdr.h forward.h \
 udpfwd.h scan.h relay.h way.h rules.h hook.h term.h
socks5udp.o: opts.h end.h net.h loop.h socks.h socks5udp.h
sources.o: sources.h
term.o: term.h
tls.o: opts.h end.h net.h loop.h tls.h tlsload.h
tlsload.o: tlsload.h
udpassoc.o: opts.h loop.h net.h proxy.h socks.h socks5udp.h \
 udpassoc.h
udpfwd.o: opts.h end.h loop.h net.h parse.h admit.h sources.h \
 udpfwd.h
util.o: opts.h loop.h net.h parse.h
way.o: opts.h end.h way.h
$(OBJS): .check-tls-$(TLS) .check-cc
sock.o: VERSION

# Before compiling anything, a build with TLS checks that OpenSSL 3's
# development files can be found, and otherwise stops with one message
# that gives both ways on, instead of one pkg-config complaint per object
# and a wall of undefined references at the link. The stamp file keeps
# the check to the first build.
# The same for the compiler: one that is missing or cannot build C11 stops
# the build with one message before anything is compiled.
.check-cc:
	@if ! printf '#include <stdbool.h>\n_Static_assert(sizeof(long long) >= 8, "");\nint main(void) { return 0; }\n' | \
	    $(CC) -std=c11 -x c -o /dev/null - >/dev/null 2>&1; then \
		echo 'sock: the C compiler "$(CC)" is missing or cannot build C11;' >&2; \
		echo 'sock: install one (apt-get install build-essential), or name another: make CC=clang' >&2; \
		exit 1; \
	fi
	@touch $@
.check-tls-yes:
	@if ! command -v pkg-config >/dev/null 2>&1 || \
	    ! pkg-config --atleast-version=3.0.0 openssl; then \
		echo 'sock: TLS=yes (the default) needs the development files of OpenSSL 3, found by pkg-config;' >&2; \
		echo 'sock: install them (apt-get install libssl-dev pkg-config), or build without TLS: make TLS=no' >&2; \
		exit 1; \
	fi
	@touch $@
.check-tls-no:
	@touch $@

# The whole suite; bats from PATH, else a pinned copy from npm (test/run).
test: sock test/relay-pair
	test/run

# A test-only program: the relay between two sockets (test/pair.bats).
RELAY_PAIR_OBJS = end.o hook.o loop.o relay.o rules.o util.o way.o
test/relay-pair: test/relay-pair.c $(RELAY_PAIR_OBJS) opts.h end.h net.h loop.h relay.h rules.h hook.h way.h
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) \
	    $(LDFLAGS) -o $@ test/relay-pair.c $(RELAY_PAIR_OBJS) $(LDLIBS)

# The whole suite again, against a build with AddressSanitizer and UBSan.
sock-san: $(SRCS) $(HDRS) .check-tls-$(TLS) .check-cc
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) \
	    $(SAN_FLAGS) $(LDFLAGS) -o $@ $(SRCS) $(LDLIBS) $(SOCK_LIBS)

sanitize: sock-san test/relay-pair
	SOCK="$$(pwd)/sock-san" \
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    test/run

# A representative part of the suite under valgrind's memcheck (the
# timing-sensitive files would only measure valgrind's slowness).
valgrind: sock test/relay-pair
	SOCK="$$(pwd)/test/valgrind-sock" test/run \
	    test/unix.bats test/bulk.bats test/interop.bats

# sock beside nc.openbsd, ncat and socat, interleaved; prints medians and
# ratios (bench/bench.sh --quick for a short run).
bench: sock
	bench/bench.sh

# libFuzzer harnesses for every parser of outside input (clang needed).
fuzz:
	fuzz/run.sh

lint:
	mandoc -Tlint -W warning man/sock.1
	shellcheck -x test/run test/helper.bash test/valgrind-sock .ci/run .ci/openssl-musl bench/bench.sh fuzz/run.sh fuzz/grow.sh
	shellcheck -s bash completions/sock.bash
	if command -v zsh >/dev/null; then zsh -n completions/_sock; fi
	if command -v fish >/dev/null; then fish -n completions/sock.fish; fi
	shellcheck -x -s bash -e SC2030,SC2031,SC2154,SC2034 test/*.bats

# A fully static sock, for machines where nothing can be installed: musl
# (musl-gcc, from musl-tools) and OpenSSL's static libraries built for it
# by .ci/openssl-musl into OPENSSL_MUSL (once, about 2 minutes of CPU;
# OPENSSL_MUSL=DIR reuses a build). make static TLS=no needs no OpenSSL.
# libssl.a and libcrypto.a are linked in directly: a static binary cannot
# dlopen a library (TLS_LINK=direct).
# The objects are rebuilt with musl-gcc, so the build starts with a clean.
MUSL_CC	= musl-gcc
OPENSSL_MUSL = openssl-musl
static: static-cc static-openssl-$(TLS)
	$(MAKE) clean
	PKG_CONFIG_LIBDIR=$(OPENSSL_MUSL)/lib/pkgconfig \
	    $(MAKE) CC=$(MUSL_CC) TLS_LINK=direct LDFLAGS='$(LDFLAGS) -static' sock
static-cc:
	@if ! command -v $(MUSL_CC) >/dev/null 2>&1; then \
		echo 'sock: make static needs $(MUSL_CC): apt-get install musl-tools' >&2; \
		exit 1; \
	fi
static-openssl-yes: static-cc $(OPENSSL_MUSL)/lib/libssl.a
static-openssl-no:
$(OPENSSL_MUSL)/lib/libssl.a:
	.ci/openssl-musl $(OPENSSL_MUSL)

# The release tarball, sock-VERSION.tar.gz with a top folder
# sock-VERSION/, from the files git tracks as they are in the work tree,
# and its SHA-256. GNU tar makes it the same bytes for the same files
# (names sorted, owner root, times those of the last commit).
DIST	= sock-$(VERSION)
dist:
	@if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		echo 'sock: make dist packs the files git tracks: run it in a git checkout' >&2; \
		exit 1; \
	fi
	rm -rf $(DIST) $(DIST).tar.gz $(DIST).tar.gz.sha256
	mkdir $(DIST)
	git ls-files -z | tar --null -T - -cf - | (cd $(DIST) && tar -xf -)
	tar --sort=name --owner=0 --group=0 --numeric-owner \
	    --mtime=@`git log -1 --format=%ct` -cf - $(DIST) | \
	    gzip -9n >$(DIST).tar.gz
	rm -rf $(DIST)
	sha256sum $(DIST).tar.gz >$(DIST).tar.gz.sha256

# The Debian package, deb/sock_VERSION-1_ARCH.deb: the release tarball
# becomes the .orig.tar.gz (source format 3.0 (quilt), see
# packaging/debian/README.source), packaging/debian its debian/, and the
# changelog's entry is written here, so the package's version is VERSION's.
DEB_REVISION = 1
DEB_MAINTAINER = The sock authors <sock@example.org>
deb: dist
	rm -rf deb
	mkdir deb
	cp $(DIST).tar.gz deb/sock_$(VERSION).orig.tar.gz
	cd deb && tar -xzf sock_$(VERSION).orig.tar.gz
	cp -R packaging/debian deb/$(DIST)/debian
	{ echo 'sock ($(VERSION)-$(DEB_REVISION)) unstable; urgency=medium'; \
	  echo; echo '  * Release $(VERSION): see /usr/share/doc/sock/NEWS.gz.'; \
	  echo; echo ' -- $(DEB_MAINTAINER)  '"`date -R -d @\`git log -1 --format=%ct\``"; \
	} >deb/$(DIST)/debian/changelog
	cd deb/$(DIST) && dpkg-buildpackage -us -uc -b

install: sock
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp -f sock $(DESTDIR)$(BINDIR)/sock
	chmod 755 $(DESTDIR)$(BINDIR)/sock
	cp -f man/sock.1 $(DESTDIR)$(MANDIR)/man1/sock.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/sock.1
	mkdir -p $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	    $(DESTDIR)$(FISHCOMPDIR)
	cp -f completions/sock.bash $(DESTDIR)$(BASHCOMPDIR)/sock
	cp -f completions/_sock $(DESTDIR)$(ZSHCOMPDIR)/_sock
	cp -f completions/sock.fish $(DESTDIR)$(FISHCOMPDIR)/sock.fish
	chmod 644 $(DESTDIR)$(BASHCOMPDIR)/sock $(DESTDIR)$(ZSHCOMPDIR)/_sock \
	    $(DESTDIR)$(FISHCOMPDIR)/sock.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sock $(DESTDIR)$(MANDIR)/man1/sock.1
	rm -f $(DESTDIR)$(BASHCOMPDIR)/sock $(DESTDIR)$(ZSHCOMPDIR)/_sock \
	    $(DESTDIR)$(FISHCOMPDIR)/sock.fish

clean:
	rm -f sock sock-san test/relay-pair $(OBJS) .check-cc .check-tls-yes \
	    .check-tls-no

.PHONY: all test sanitize valgrind bench fuzz lint static static-cc static-openssl-yes \
	static-openssl-no dist deb install uninstall clean
