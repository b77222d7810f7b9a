"""Start the console (daphne) and the django-q2 workers together; Ctrl-C stops both.

Used by `make run`. Needs no terminal: signals from a script or a service manager work too.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the console with daphne and run the django-q2 cluster, stopping both together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-workers", action="store_true", help="Serve only; run no django-q2 cluster.")

    def handle(self, *args, **opts):
        python = sys.executable
        children = [
            subprocess.Popen(
                [python, "-m", "daphne", "-b", opts["host"], "-p", str(opts["port"]),
                 "--proxy-headers", "console.asgi:application"],
                start_new_session=True,
            )
        ]
        if not opts["no_workers"]:
            children.append(
                subprocess.Popen([python, "manage.py", "qcluster"], start_new_session=True,
                                 cwd=settings.BASE_DIR)
            )
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                if any(child.poll() is not None for child in children):
                    self.stderr.write("A console process exited; stopping the others.")
                    break
                time.sleep(0.3)
        finally:
            self._stop_all(children)
        codes = [child.returncode for child in children]
        if not stopping and any(codes):
            sys.exit(1)

    def _stop_all(self, children) -> None:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.stdout.write("Stopped the console and its workers.")
