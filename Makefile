# sock - a netcat that never loses a byte.
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
CFLAGS	?= -O2 -g
# TLS=no builds sock without OpenSSL (--tls is then a usage error). After
# switching, run make clean: the objects do not know which way they were
# built.
TLS	?= yes

# PORTABLE=1 builds every portable fallback instead of the Linux-only
# calls, as a BSD or macOS build takes them (sock.h, HAVE_LINUX_CALLS).
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

SOCK_CPPFLAGS = -D_GNU_SOURCE $(PORTABLE_CPPFLAGS_$(PORTABLE)) $(TLS_FLAGS_$(TLS))
SOCK_LIBS     = $(TLS_LIBS_$(TLS))
SOCK_CFLAGS   = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wpointer-arith -Wformat=2
SAN_FLAGS     = -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all

SRCS	= sock.c end.c exec.c forward.c proxy.c proxyd.c relay.c scan.c server.c tls.c \
	  tlsload.c util.c
OBJS	= sock.o end.o exec.o forward.o proxy.o proxyd.o relay.o scan.o server.o tls.o \
	  tlsload.o util.o

all: sock

sock: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS) $(SOCK_LIBS)

.c.o:
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) -c $<

$(OBJS): sock.h
forward.o proxyd.o: proxyd.h
tls.o tlsload.o: tlsload.h

# The whole suite; bats from PATH, else a pinned copy from npm (test/run).
test: sock test/relay-pair
	test/run

# A test-only program: the relay between two sockets (test/pair.bats).
RELAY_PAIR_OBJS = end.o relay.o util.o
test/relay-pair: test/relay-pair.c $(RELAY_PAIR_OBJS) sock.h
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) \
	    $(LDFLAGS) -o $@ test/relay-pair.c $(RELAY_PAIR_OBJS) $(LDLIBS)

# The whole suite again, against a build with AddressSanitizer and UBSan.
sock-san: $(SRCS) sock.h proxyd.h tlsload.h
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
	rm -f sock sock-san test/relay-pair $(OBJS)

.PHONY: all test sanitize valgrind bench fuzz lint install uninstall clean
