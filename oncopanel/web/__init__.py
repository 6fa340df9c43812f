"""The remote review and sign-off application (`oncopanel serve`, issue 19).

The centre's reviewers confirm or reject each finding of a finished batch, its signing physicians sign, and the
county clinicians read their own site's signed reports. The application reads the results trees the workflow wrote
(``oncopanel.release`` versions), writes signed versions through the same release record and renders them with the
same PDF code; its own state (users, sites, sessions, decisions, comments, signatures, versions) lives in a SQL
database (``oncopanel.web.db``), and every action goes into the batch's hash-chained audit log (``oncopanel.audit``).

Modules: ``db`` (tables, migrations, engine), ``security`` (passwords, sessions, CSRF, throttling), ``trees`` (the
results trees served), ``review`` (decisions → the signed result version), ``app`` (routes and pages), ``cli``
(`oncopanel serve`, `oncopanel users`, `oncopanel sites`), ``vendor`` (the pinned igv.js from the npm registry).
"""
