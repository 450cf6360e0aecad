"""Children that take Ctrl-C as from a terminal, however the suite itself was started.

A suite started in the background of a non-interactive shell (``nohup … &``) inherits SIGINT and
SIGQUIT ignored, and so would every command it runs; Python then installs no KeyboardInterrupt
handler, and a test sending SIGINT sees the command run to its end.
"""

from __future__ import annotations

import signal


def terminal_signals() -> None:
    """``preexec_fn`` for a child: SIGINT, SIGQUIT and SIGHUP back to their default actions."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
