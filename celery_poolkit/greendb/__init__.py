"""Green-aware PostgreSQL drivers: what makes a database call yield to other greenlets.

* :mod:`celery_poolkit.greendb.psycopg2` -- a wait callback for psycopg2 (built on
  psycogreen) that also cancels the server-side query when a greenlet is interrupted,
  honours ``connect_timeout``, resolves host names without blocking the hub, and explains
  the operations green mode cannot do (COPY, large objects). ``install("gevent")``.
* :mod:`celery_poolkit.greendb.psycopg` -- psycopg 3 picks its wait function once, at
  import; ``check()`` says whether it picked the green one, and ``cancel_on_interrupt``
  cancels a query a ``gevent.Timeout`` interrupted.
* :mod:`celery_poolkit.greendb.sqlalchemy` -- invalidate a session's connection when a
  ``gevent.Timeout`` interrupts it, and check that an engine's pool uses green locks.

Every module imports its driver lazily, inside functions: importing this package imports
no driver, no gevent, no celery.
"""
