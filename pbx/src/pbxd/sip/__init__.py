"""The SIP protocol core, free of I/O and clocks (in the manner of h11).

Messages are parsed from and serialised to bytes; transactions are state machines that are fed
messages and the current time and answer with what to transmit and when they next need a tick.
Everything that touches sockets, the event loop or the database lives outside this package.
"""
