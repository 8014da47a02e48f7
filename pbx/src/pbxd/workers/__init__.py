"""A PBX of several processes (``sip.workers`` above 1): one front holds the sockets, the
workers hold the SIP state, each for the calls whose Call-ID falls to it.

Python runs one thread of SIP code at a time, so one process uses one core. With ``workers``
set to N, ``pbxd run`` starts a front (``front``) and N worker processes (``worker``), joined by
loopback TCP links that carry framed messages (``wire``):

- **The front** binds the listen addresses, reads every UDP datagram and TCP message, and hands
  it unparsed to worker ``crc32(Call-ID) mod N``. It keeps the TCP connections, sends what the
  workers send over TCP (and to host names), and reports TCP connections opening and closing.
- **A worker** is a whole ``PbxServer`` (transactions, dialogs, call records, the shedder)
  behind ``RelayedTransports``: it parses what the front hands it and sends UDP datagrams
  itself, from the front's own socket (shared with it at start), so that replies come from the
  listen port.

What the workers share, and how:

- **Transactions and dialogs** are not shared, and need not be: a retransmission, the CANCEL
  and the ACK of an INVITE, every response and every in-dialog request carry the Call-ID of
  their transaction, so the front hands them to the worker that holds it. Requests a worker
  starts itself (trunk probes) get a Call-ID that falls to that worker (``call_id_for``).
- **Bindings** are written to the database by the worker that took the REGISTER, which then
  tells the others through the front before its 200 OK goes out (the 200 OK itself goes through
  the front, after the news), so that no phone can be called on a worker that does not know it.
- **Nonces** are signed with each worker's own secret. A REGISTER or INVITE answering a
  challenge carries the Call-ID of the challenged request, so it reaches the worker that issued
  the nonce; an answer that reaches another worker (a phone that starts a new Call-ID with an
  old nonce) is challenged again with ``stale=true``, and the phone answers without asking its
  user: replay protection stays whole.
- **Throttles** (authentication failures, answers to unauthenticated sources) are counted per
  worker, each with its share of the configured limit.

The mechanism is portable: processes are started with ``spawn`` (Windows' only method), links are
TCP on 127.0.0.1, and sockets are shared with ``multiprocessing``'s own socket hand-over
(``socket.share`` on Windows, descriptor passing elsewhere). A worker that exits ends the front
too, with the worker's exit code when it names a cause, so that the cluster restarts or moves the
PBX as it would a single process.
"""
