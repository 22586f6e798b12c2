"""Workshop group exercises for a room of groups, served from one process.

Modules: ``exercise`` (budgets, AHP, submissions, exports), ``live`` (scores and ranks by the
method core), ``session`` (registered groups, join codes, one device per group), ``consensus``
(AHP groups by the geometric mean of judgements, flags, effect on ranks), ``i18n`` (the en/fr/es
string catalogue), ``widgets`` (the participants' app), ``dashboard`` (the facilitator's live
view), ``banner`` (connection-lost banner), ``server`` (the Solara app), ``assets`` (offline
browser assets), ``commands`` (``pmm workshop``).

May import every layer above it (inputs, core, analysis, uncertainty, reporting).
"""
