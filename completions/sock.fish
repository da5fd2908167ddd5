# fish completion for sock(1), installed by make install as
# $(PREFIX)/share/fish/vendor_completions.d/sock.fish.
#
# One option a line: test/options.bats reads the names from here and
# fails when one in sock.c's table (options[]) is missing, or when an
# option's value is missing or extra (-r: takes a value).

set -l tos lowdelay throughput reliability mincost af11 af12 af13 af21 af22 \
    af23 af31 af32 af33 af41 af42 af43 cs0 cs1 cs2 cs3 cs4 cs5 cs6 cs7 ef va le

complete -c sock -s 4 -d 'Use IPv4 only'
complete -c sock -s 6 -d 'Use IPv6 only'
complete -c sock -s b -d 'Allow UDP broadcast'
complete -c sock -s C -d 'Send CRLF for each LF from stdin'
complete -c sock -s c -r -a '(__fish_complete_command)' -d 'Run command with /bin/sh -c on the connection'
complete -c sock -s d -l recv-only -d 'Do not read stdin; finish when the peer closes'
complete -c sock -s e -r -a '(__fish_complete_command)' -d 'Run prog (no shell) on the connection'
complete -c sock -s h -l help -d 'Print the usage and exit'
complete -c sock -s I -x -d 'Receive buffer size'
complete -c sock -s i -x -d 'Pause between lines sent, or between ports scanned'
complete -c sock -s k -d 'Keep listening: serve clients concurrently'
complete -c sock -s l -d 'Listen for a connection instead of connecting'
complete -c sock -s M -x -d 'IP TTL / IPv6 hop limit'
complete -c sock -s N -d 'Send the FIN after stdin ends even if stdin was empty'
complete -c sock -s n -d 'Numeric addresses and ports only'
complete -c sock -s O -x -d 'Send buffer size'
complete -c sock -s o -l hex-dump -r -F -d 'Hex dump of the traffic to file'
complete -c sock -s p -x -d 'With -l: port to listen on; else: local source port'
complete -c sock -s q -x -d 'After stdin ends, quit once secs pass with nothing received'
complete -c sock -s r -d 'Scan the ports in random order'
complete -c sock -s s -x -a '(__fish_print_hostnames)' -d 'Local source address'
complete -c sock -s T -x -a "$tos" -d 'Type of service'
complete -c sock -s t -d 'Refuse telnet option negotiation'
complete -c sock -s U -d 'Unix-domain socket (with -u: datagram)'
complete -c sock -s u -d 'UDP'
complete -c sock -s v -d 'Verbose (repeat for more)'
complete -c sock -s w -x -d 'Connect timeout and idle timeout'
complete -c sock -s z -d 'Report which ports accept connections'
complete -c sock -l allow -x -d 'Admit only these addresses/CIDR blocks'
complete -c sock -l allowfile -r -F -d 'Admit only the addresses listed in file'
complete -c sock -l broker -d 'Relay every client'\''s data to all other clients'
complete -c sock -l chat -d '--broker with a <userN> prefix on each line'
complete -c sock -l deny -x -d 'Refuse these addresses/CIDR blocks'
complete -c sock -l denyfile -r -F -d 'Refuse the addresses listed in file'
complete -c sock -l keepalive -d 'Enable TCP keepalives'
complete -c sock -l max-conns -x -d 'Refuse clients beyond n at once'
complete -c sock -l no-shutdown -d 'Never send a FIN before the end'
complete -c sock -l nodelay -d 'Disable Nagle'\''s algorithm (TCP_NODELAY)'
complete -c sock -l progress -a 'auto always' -d 'Live transfer status on stderr'
complete -c sock -l send-only -d 'Discard what arrives; exit once stdin is sent'
complete -c sock -l version -d 'Print the version and exit'
complete -c sock -l wait -x -d 'Retry connecting until it works or secs pass'
