"""The kernel's count of datagrams dropped on the PBX's UDP sockets (Linux), for the shedder."""

from __future__ import annotations

import socket
import sys

import pytest
from pbxd.config import Listen
from pbxd.overload import BEHIND_SAMPLES, LoadGauge
from pbxd.udpdrops import drop_counter, proc_address, read_drops

# /proc/net/udp as Linux writes it, with the same 13 columns (the header abridged).
TABLE = (
    "  sl  local_address rem_address st tx_queue:rx_queue ... drops\n"
    "  693: 0100007F:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 107139 2 000088 17\n"
    " 1407: 0200007F:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 211237 2 000062 99\n"
)


def test_addresses_are_written_as_the_kernel_writes_them() -> None:
    assert proc_address("127.0.0.1", 5060) == "0100007F:13C4"
    assert proc_address("::1", 5060) == "00000000000000000000000001000000:13C4"
    assert read_drops([TABLE], frozenset({"0100007F:13C4"})) == 17  # not the other address's 99


def test_no_counter_without_an_ip_udp_listen_address() -> None:
    assert drop_counter([Listen("tcp", "127.0.0.1", 5060), Listen("udp", "pbx.example.com", 5060)]) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel counts drops on Linux only")
def test_drops_on_a_socket_nobody_reads_are_counted() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        receiver.bind(("127.0.0.33", 0))
        host, port = receiver.getsockname()
        counter = drop_counter([Listen("udp", host, port)])
        assert counter is not None
        before = counter()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(200):
                sender.sendto(b"x" * 500, (host, port))
        assert counter() - before > 0


def test_the_shedder_takes_kernel_drops_that_last_for_overload_even_with_little_traffic() -> None:
    drops = [0]
    gauge = LoadGauge(cpu_clock=lambda: 0.0, drops=lambda: drops[0])
    gauge.sample(0.0)
    for sample in range(1, BEHIND_SAMPLES + 1):
        drops[0] += 400
        gauge.sample(sample * 0.5)
    assert gauge.share == pytest.approx(0.1) and gauge.why == "400 datagrams dropped by the kernel"
    gauge.sample((BEHIND_SAMPLES + 1) * 0.5)  # no new drops, no traffic: calm again
    assert gauge.share == 0


def test_one_burst_of_kernel_drops_is_a_stall_not_overload() -> None:
    """A pause of the loop (a garbage collection, a slow commit) overflows the socket's buffer
    once; the clients retransmit what was lost. Shedding for it would turn a pause of tens of
    milliseconds into failed calls."""
    drops = [0]
    gauge = LoadGauge(cpu_clock=lambda: 0.0, drops=lambda: drops[0])
    gauge.sample(0.0)
    drops[0] = 80
    gauge.sample(0.5)
    assert gauge.share == 0
    gauge.sample(1.0)  # nothing dropped since: the streak is over
    drops[0] = 160
    gauge.sample(1.5)
    assert gauge.share == 0
