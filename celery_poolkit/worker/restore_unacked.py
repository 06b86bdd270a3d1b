"""Give back the Redis broker's abandoned messages at a green worker's start (its side
effect: messages move from kombu's ``unacked`` hash back to their queues).

Why a gevent or eventlet worker needs this. With ``acks_late`` (or any consumer that acks
late), kombu's Redis transport keeps every delivered message in the ``unacked`` hash and
its delivery time in the ``unacked_index`` sorted set until it is acked. When a worker dies
without acking (``kill -9``, OOM killer, a lost host), the entries stay there, and kombu
promises to put them back on their queue once they are older than ``visibility_timeout``
(``QoS.restore_visible``). Two callers run that sweep:

- the event loop (prefork, threads, solo): ``register_with_event_loop`` sweeps once when
  the worker starts (``on_poll_init``) and then every ``unacked_restore_interval`` seconds;
- the blocking loop (``MultiChannelPoller.get``) that Celery's ``synloop`` uses for
  gevent and eventlet, only on a poll that returned no event. But BRPOP's own timeout
  (1 s) always answers first, and ``_brpop_read`` raises ``Empty`` out of ``get`` before the
  sweep is reached (kombu#1025, celery#4976). A green worker never restores anything:
  measured, ``kill -9`` of a gevent worker left 21 of 1,000 messages stuck for good.

The rule, kombu's own, nothing looser: at start-up, once, before the consumer takes its
first message, restore exactly the entries whose delivery is older than the broker's
``visibility_timeout`` — what a prefork worker's first sweep restores. An entry that a live
worker still holds is younger than that (or kombu itself would restore it under prefork),
so it is left alone; nothing here asks workers what they hold, because a worker that cannot
answer in time (its hub blocked, remote control off, another app on the same database)
would then lose its messages to a duplicate run. The sweep holds kombu's
``unacked_mutex`` (so two workers starting together do not restore the same entry twice),
moves entries with kombu's own ``restore_by_tag`` (one Redis transaction each), and stops
at a deadline, saying how many it left.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("celery_poolkit")

_BATCH = 500  # entries read per ZRANGE: bounded memory however large the hash is


@dataclass(frozen=True, slots=True)
class Restored:
    """What the start-up sweep did."""

    restored: int  # entries moved back to their queue
    held: int  # entries left, younger than visibility_timeout (a live worker may hold them)
    visibility_timeout: float
    unfinished: bool = False  # the deadline came first; the rest waits for the next start


def needs_restore(worker: Any) -> bool:
    """True for a worker whose consumer runs kombu's blocking loop (gevent, eventlet): the
    only loop that never restores. Prefork, threads and solo already sweep at start."""
    try:
        return not worker.should_use_eventloop()
    except Exception:  # an unknown WorkController: do nothing rather than guess
        return False


def restore_abandoned(app: Any, *, timeout: float = 10.0) -> Restored | None:
    """Restore the Redis broker's abandoned messages (see the module's rule).

    Returns None when the broker is not Redis (nothing to do: AMQP brokers redeliver an
    unacked message as soon as its consumer's connection closes). Connection errors
    propagate; the caller logs them and starts the worker anyway.
    """
    options = dict(app.conf.broker_transport_options or {})
    # Bound every Redis call: a broker that is down or unreachable must not hold the
    # worker's start for the operating system's connect timeout.
    options.setdefault("socket_connect_timeout", timeout)
    options.setdefault("socket_timeout", timeout)
    with app.connection_for_read(transport_options=options) as conn:
        if getattr(conn.transport, "driver_type", None) != "redis":
            return None
        conn.ensure_connection(max_retries=1)
        return _sweep(conn.default_channel, deadline=time.monotonic() + timeout)


def _sweep(channel: Any, *, deadline: float) -> Restored:
    from kombu.transport.redis import Mutex, MutexHeld

    client, qos = channel.client, channel.qos
    visibility = float(channel.visibility_timeout)
    ceil = time.time() - visibility
    restored, unfinished = 0, False
    try:
        with Mutex(client, channel.unacked_mutex_key, channel.unacked_mutex_expire):
            while not unfinished:
                tags = client.zrangebyscore(channel.unacked_index_key, 0, ceil, 0, _BATCH)
                if not tags:
                    break
                for tag in tags:
                    if time.monotonic() > deadline:
                        unfinished = True
                        break
                    qos.restore_by_tag(tag, client)
                    restored += 1
    except MutexHeld:
        # Another worker is sweeping right now: its sweep covers the same entries.
        pass
    held = int(client.zcard(channel.unacked_index_key))
    return Restored(
        restored=restored, held=held, visibility_timeout=visibility, unfinished=unfinished
    )


def run(worker: Any, *, timeout: float = 10.0) -> Restored | None:
    """The step's call: sweep when the worker needs it, log what was done, never raise."""
    if not needs_restore(worker):
        return None
    try:
        done = restore_abandoned(worker.app, timeout=timeout)
    except Exception as exc:  # the broker is down, a bad option: start the worker anyway
        logger.warning(
            "poolkit: could not restore the broker's unacknowledged messages at start "
            "(%s: %s); messages abandoned by a crashed worker stay in Redis's 'unacked' "
            "hash until a worker that sweeps starts",
            type(exc).__name__, exc,
        )  # fmt: skip
        return None
    if done is None:
        return None
    if done.restored or done.unfinished:
        logger.warning(
            "poolkit: restored %d message(s) left unacknowledged for more than "
            "visibility_timeout=%gs (a worker died holding them; gevent and eventlet "
            "workers never restore them on their own)%s",
            done.restored, done.visibility_timeout,
            "; stopped at the deadline, the rest at the next start" if done.unfinished else "",
        )  # fmt: skip
    else:
        logger.info(
            "poolkit: no abandoned Redis messages to restore (%d younger than "
            "visibility_timeout=%gs left to their holders)", done.held, done.visibility_timeout,
        )  # fmt: skip
    return done
