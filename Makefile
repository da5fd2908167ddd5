# sock - a netcat that never loses a byte.
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX and DESTDIR are the user's; the
# project's own flags are added from SOCK_* so that `make CFLAGS=-O0` keeps
# the warnings and the feature macros.

PREFIX	?= /usr/local
BINDIR	 = $(PREFIX)/bin
MANDIR	 = $(PREFIX)/share/man
CC	?= cc
CFLAGS	?= -O2 -g

SOCK_CPPFLAGS = -D_GNU_SOURCE
SOCK_CFLAGS   = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wpointer-arith -Wformat=2
SAN_FLAGS     = -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all

SRCS	= sock.c end.c exec.c forward.c proxyd.c relay.c scan.c server.c util.c
OBJS	= sock.o end.o exec.o forward.o proxyd.o relay.o scan.o server.o util.o

all: sock

sock: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

.c.o:
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) -c $<

$(OBJS): sock.h
forward.o proxyd.o: proxyd.h

# The whole suite; bats from PATH, else a pinned copy from npm (test/run).
test: sock test/relay-pair
	test/run

# A test-only program: the relay between two sockets (test/relay.bats).
RELAY_PAIR_OBJS = end.o relay.o util.o
test/relay-pair: test/relay-pair.c $(RELAY_PAIR_OBJS) sock.h
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) \
	    $(LDFLAGS) -o $@ test/relay-pair.c $(RELAY_PAIR_OBJS) $(LDLIBS)

# The whole suite again, against a build with AddressSanitizer and UBSan.
sock-san: $(SRCS) sock.h proxyd.h
	$(CC) $(SOCK_CPPFLAGS) $(CPPFLAGS) $(SOCK_CFLAGS) $(CFLAGS) \
	    $(SAN_FLAGS) $(LDFLAGS) -o $@ $(SRCS) $(LDLIBS)

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
	shellcheck -x test/run test/helper.bash test/valgrind-sock .ci/run bench/bench.sh fuzz/run.sh
	shellcheck -x -s bash -e SC2030,SC2031,SC2154,SC2034 test/*.bats

install: sock
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp -f sock $(DESTDIR)$(BINDIR)/sock
	chmod 755 $(DESTDIR)$(BINDIR)/sock
	cp -f man/sock.1 $(DESTDIR)$(MANDIR)/man1/sock.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/sock.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sock $(DESTDIR)$(MANDIR)/man1/sock.1

clean:
	rm -f sock sock-san test/relay-pair $(OBJS)

.PHONY: all test sanitize valgrind bench fuzz lint install uninstall clean
