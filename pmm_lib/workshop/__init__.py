"""Workshop group exercises: submissions, consensus, the participants' app and the facilitator's view.

May import every layer above it (inputs, core, analysis, uncertainty, reporting).
"""
