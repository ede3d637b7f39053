"""Database sessions (Django's own backend), read with one written-out statement.

Every request of a logged-in person reads its session; Django's ``objects.get``
spent more CPU composing that look-up than the database spent answering it.
Everything else (writing, expiry, cycling keys on login) is Django's.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from core.db import fetch_all


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        using = router.db_for_read(model)
        now = connections[using].ops.adapt_datetimefield_value(timezone.now())
        rows = fetch_all(
            f"SELECT session_data FROM {model._meta.db_table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
            [self.session_key, now],
            using=using,
        )
        if not rows:  # unknown or expired: the key is dropped, as Django's backend does
            self._session_key = None
            return None
        return model(session_key=self.session_key, session_data=rows[0][0])
