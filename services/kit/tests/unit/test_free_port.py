import socket

from kit.ports import _ephemeral_low, free_port


def test_ports_are_free_distinct_and_below_the_outgoing_range():
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(port < _ephemeral_low() for port in ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # raises if it was not free
