"""A stand-in for systemd's notify socket: prints each datagram as one JSON line.

    notify_listen.py PATH SECONDS   (exits after SECONDS, or on SIGTERM)
"""
import json
import os
import socket
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
sock.bind(path)
deadline = time.monotonic() + seconds
print(json.dumps({"listening": path}), flush=True)
while time.monotonic() < deadline:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        data = sock.recv(4096)
    except socket.timeout:
        break
    print(json.dumps({"t": time.monotonic(), "message": data.decode(errors="replace")}), flush=True)
