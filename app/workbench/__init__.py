"""The application layer: one controller per screen, typed observable state, the use cases.

    app/views  ──►  app/workbench  ──►  app/services · app/queries · app/sync · app/geo
    (layout,         (this package:       (rules as plain functions; device-store reads;
     binding)         what a screen        the sync engine and the device's own writes)
                      can do, and its
                      state)

A screen component gets the session's ``Workbench`` from ``WorkbenchContext``,
subscribes to the state objects it renders (``use_observed``) and calls a
controller's methods from its handlers. Every slow call (SQLite, HTTP, map files)
runs in a worker thread here, so the event loop never blocks. Nothing in this
package lays out a control; nothing in ``app/views`` reads SQL, speaks HTTP,
writes a file or decides a rule.
"""

from app.workbench.workbench import AppState, Notice, Workbench

__all__ = ["AppState", "Notice", "Workbench"]
